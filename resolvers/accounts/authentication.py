"""Who is calling: the member behind an access token or an API key, or nobody.

An access token counts only while its session (`sid`, a refresh-token family) is live: the check rides
along the viewer lookup, or is answered by the per-process session cache (docs/trust.md, "Revocation").
"""

from __future__ import annotations

import uuid
from typing import NamedTuple

from app.core.errors import Unauthenticated
from app.core.tokens import InvalidToken
from dataloaders.accounts import load_viewer, load_viewer_in_session
from db.models import User
from db.session import Db
from resolvers.accounts.sessions import blocked_error
from resolvers.api_keys import authenticate_api_key, looks_like_api_key
from resolvers.unit_of_work import Services

INVALID_ACCESS_TOKEN = "Invalid or expired access token."  # noqa: S105
SESSION_ENDED = "This session has ended; sign in again."


class Credentials(NamedTuple):
    """How the caller authenticated."""

    method: str  # "anonymous", "password" (an access token) or "api_key"
    api_key_scope: str | None = None
    session_id: uuid.UUID | None = None  # the session an access token names


async def authenticate(
    app: Services, db: Db, authorization: str | None
) -> tuple[User | None, Exception | None]:
    """The member behind an `Authorization: Bearer <token>` value, or the error to report."""
    viewer, error, _ = await authenticate_with_method(app, db, authorization)
    return viewer, error


async def authenticate_with_method(
    app: Services, db: Db, authorization: str | None, api_key: str | None = None
) -> tuple[User | None, Exception | None, Credentials]:
    """Like `authenticate`, also accepting API keys (`Bearer mik_...` or `X-API-Key`); the third
    value says how the caller authenticated."""
    if api_key and not authorization:
        authorization = f"Bearer {api_key}"
    if not authorization:
        return None, None, Credentials("anonymous")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        malformed = Unauthenticated("Use `Authorization: Bearer <accessToken>`.")
        return None, malformed, Credentials("anonymous")
    if looks_like_api_key(token.strip()):
        db.stay_on_primary()  # a key created a moment ago may not be on a replica yet
        user, error, scope = await authenticate_api_key(app, db, token.strip())
        return user, error, Credentials("api_key", scope)
    user, error, session_id = await _authenticate_access_token(app, db, token)
    return user, error, Credentials("password", session_id=session_id)


async def _authenticate_access_token(
    app: Services, db: Db, token: str
) -> tuple[User | None, Exception | None, uuid.UUID | None]:
    now = app.clock.now()
    try:
        claims = app.tokens.verify(token.strip(), now)
    except InvalidToken:
        return None, Unauthenticated(INVALID_ACCESS_TOKEN), None
    db.reads_for(claims.user_id, now.timestamp() - claims.issued_at)  # read-your-writes on replicas
    cache = app.session_cache
    if cache.is_live(claims.session_id, claims.user_id):
        user, live = await load_viewer(db, claims.user_id), True
    else:
        generation = cache.generation
        user, live = await load_viewer_in_session(db, claims.user_id, claims.session_id)
        if live:
            cache.remember(claims.session_id, claims.user_id, generation)
    if user is None:
        return None, Unauthenticated(INVALID_ACCESS_TOKEN), None
    blocked = blocked_error(user, now)  # before the session: a blocked member learns why
    if blocked is not None:
        return None, blocked, None
    if not live:
        return None, Unauthenticated(SESSION_ENDED), None
    return user, None, claims.session_id
