from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from app.auth.tokens import InvalidToken
from app.context import AppState, Context, Db, blocked_error
from app.errors import ServiceUnavailable, Unauthenticated
from app.http.graphiql import graphiql_response
from app.ws_auth import LiveContext, authenticate_socket
from app.ws_fanout import SharedFanoutHandler
from dataloaders import Loaders
from dataloaders.accounts import load_viewer
from db.models import User
from resolvers.api_keys import authenticate_api_key, looks_like_api_key
from schema.extensions import classify

logger = logging.getLogger("mockinterview.auth")

OPEN_SESSIONS = "mockinterview.open_sessions"
LIVE_CONTEXT = "mockinterview.live_context"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json; charset=utf-8"
INVALID_ACCESS_TOKEN = "Invalid or expired access token."  # noqa: S105


async def authenticate(
    app: AppState, db: Db, authorization: str | None
) -> tuple[User | None, Exception | None]:
    """The member behind an `Authorization: Bearer <token>` value, or the error to report."""
    viewer, error, _ = await authenticate_with_method(app, db, authorization)
    return viewer, error


async def authenticate_with_method(
    app: AppState, db: Db, authorization: str | None, api_key: str | None = None
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
    app: AppState, db: Db, token: str
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


def _is_request_error(response_data: GraphQLHTTPResponse) -> bool:
    errors: list[dict[str, object]] = list(response_data.get("errors") or [])  # type: ignore[arg-type]
    return response_data.get("data") is None and bool(errors) and all("path" not in e for e in errors)


class GraphQLView(GraphQL[Context, None]):
    """Strawberry's ASGI app with our context and an `extensions.code` on every error."""

    # Board subscriptions share one execution per group of identical subscribers (app/ws_fanout.py).
    graphql_transport_ws_handler_class = SharedFanoutHandler

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        if result.errors:
            # Parse and validation failures skip the schema extensions; code them here too.
            result.errors = [e if (e.extensions or {}).get("code") else classify(e) for e in result.errors]
        return await super().process_result(request, result)

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if getattr(sub_response, "wants_graphql_response_json", False):
            # GraphQL-over-HTTP: with this media type a request error (no path: the document or
            # its variables were rejected before execution) is a 4xx.
            response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
            if isinstance(response_data, dict) and _is_request_error(response_data):
                response.status_code = 400
        return response

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_response(request.scope.get("root_path", ""))  # vendored assets, no CDN

    def __init__(self, app_state: AppState, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app_state = app_state

    def encode_json(self, data: object) -> str:
        # orjson is several times faster than json.dumps; a str (not bytes) keeps websocket frames text.
        return orjson.dumps(data).decode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            try:
                await super().__call__(scope, receive, send)
            finally:
                live = scope.get("state", {}).get(LIVE_CONTEXT)
                if isinstance(live, LiveContext):
                    live.cancel_expiry()
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        opened: list[Db] = []
        scope.setdefault("state", {})[OPEN_SESSIONS] = opened
        try:
            await super().__call__(scope, receive, send)
        finally:
            # A cancelled request (client gone, shutdown) skips the per-operation cleanup; give
            # its connection back to the pool anyway.
            for db in opened:
                await asyncio.shield(db.close())

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        # Multipart is a "simple" CORS request: without this header a foreign page could post uploads.
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        # Apollo clients send `Apollo-Require-Preflight` for the same purpose.
        headers = request.headers
        preflight = headers.get("graphql-require-preflight") or headers.get("apollo-require-preflight")
        if content_type == "multipart/form-data" and not preflight:
            raise HTTPException(400, "Multipart requests need a `GraphQL-Require-Preflight` header.")
        return await super().parse_http_body(request)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        if isinstance(response, Response):
            accept = request.headers.get("accept", "")
            response.wants_graphql_response_json = "application/graphql-response+json" in accept  # type: ignore[attr-defined]
        db = Db(self.app_state.sessionmaker)
        if isinstance(request, Request):
            request.scope.get("state", {}).get(OPEN_SESSIONS, []).append(db)
        try:
            viewer, error, (method, scope) = await authenticate_with_method(
                self.app_state, db, request.headers.get("authorization"), request.headers.get("x-api-key")
            )
        except Exception:  # the member could not be looked up (database down, connection lost)
            logger.exception("authentication failed")
            viewer, method, scope = None, "anonymous", None
            error = ServiceUnavailable("The service is unavailable right now; retry later.")
        context_class = LiveContext if isinstance(request, WebSocket) else Context
        context = context_class(
            app=self.app_state,
            connection=request,
            db=db,
            loaders=Loaders(db),
            viewer=viewer,
            auth_error=error,
            auth_method=method,
            api_key_scope=scope,
        )
        if isinstance(request, WebSocket):
            request.scope.setdefault("state", {})[LIVE_CONTEXT] = context
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate the `connection_init` token; a bad or expired one closes with 4403."""
        await authenticate_socket(self.app_state, context)
        unset: UnsetType = UNSET
        return unset
