"""The Strawberry ASGI view: builds the typed context per HTTP request and per websocket."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from app.auth.tokens import InvalidToken
from app.context import AppState, Context, Db, blocked_error
from app.errors import Unauthenticated
from dataloaders import Loaders
from db.models import User

INVALID_ACCESS_TOKEN = "Invalid or expired access token."


async def authenticate(
    app: AppState, db: Db, authorization: str | None
) -> tuple[User | None, Exception | None]:
    """The member behind an `Authorization: Bearer <token>` value, or the error to report."""
    if not authorization:
        return None, None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None, Unauthenticated("Use `Authorization: Bearer <accessToken>`.")
    now = app.clock.now()
    try:
        claims = app.tokens.verify(token.strip(), now)
    except InvalidToken:
        return None, Unauthenticated(INVALID_ACCESS_TOKEN)
    user = await db.session.get(User, claims.user_id)
    if user is None:
        return None, Unauthenticated(INVALID_ACCESS_TOKEN)
    blocked = blocked_error(user, now)
    if blocked is not None:
        return None, blocked
    return user, None


class GraphQLView(GraphQL[Context, None]):
    """Strawberry's ASGI app with our context."""

    def __init__(self, app_state: AppState, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app_state = app_state

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        db = Db(self.app_state.sessionmaker)
        viewer, error = await authenticate(self.app_state, db, request.headers.get("authorization"))
        return Context(
            app=self.app_state,
            connection=request,
            db=db,
            loaders=Loaders(db),
            viewer=viewer,
            auth_error=error,
        )
