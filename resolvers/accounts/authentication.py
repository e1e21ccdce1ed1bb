"""Who is calling: the member behind an access token or an API key, or nobody."""

from __future__ import annotations

from app.core.errors import Unauthenticated
from app.core.tokens import InvalidToken
from dataloaders.accounts import load_viewer
from db.models import User
from db.session import Db
from resolvers.accounts.sessions import blocked_error
from resolvers.api_keys import authenticate_api_key, looks_like_api_key
from resolvers.unit_of_work import Services

INVALID_ACCESS_TOKEN = "Invalid or expired access token."  # noqa: S105


async def authenticate(
    app: Services, db: Db, authorization: str | None
) -> tuple[User | None, Exception | None]:
    """The member behind an `Authorization: Bearer <token>` value, or the error to report."""
    viewer, error, _ = await authenticate_with_method(app, db, authorization)
    return viewer, error


async def authenticate_with_method(
    app: Services, db: Db, authorization: str | None, api_key: str | None = None
) -> tuple[User | None, Exception | None, tuple[str, str | None]]:
    """Like `authenticate`, also accepting API keys (`Bearer mik_...` or `X-API-Key`).

    The third value is (auth method, API key scope): ("anonymous"|"password"|"api_key", scope).
    """
    if api_key and not authorization:
        authorization = f"Bearer {api_key}"
    if not authorization:
        return None, None, ("anonymous", None)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        malformed = Unauthenticated("Use `Authorization: Bearer <accessToken>`.")
        return None, malformed, ("anonymous", None)
    if looks_like_api_key(token.strip()):
        user, error, scope = await authenticate_api_key(app, db, token.strip())
        return user, error, ("api_key", scope)
    user, error = await _authenticate_access_token(app, db, token)
    return user, error, ("password", None)


async def _authenticate_access_token(
    app: Services, db: Db, token: str
) -> tuple[User | None, Exception | None]:
    now = app.clock.now()
    try:
        claims = app.tokens.verify(token.strip(), now)
    except InvalidToken:
        return None, Unauthenticated(INVALID_ACCESS_TOKEN)
    user = await load_viewer(db, claims.user_id)
    if user is None:
        return None, Unauthenticated(INVALID_ACCESS_TOKEN)
    blocked = blocked_error(user, now)
    if blocked is not None:
        return None, blocked
    return user, None
