from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from app.core.errors import BAD_REQUEST, ServiceUnavailable
from app.core.inputs import storable_text
from app.core.persisted_queries import PersistedQueries
from app.core.settings import Settings
from app.http.graphiql import graphiql_response
from app.http.persisted_queries import execute_request
from app.http.request_body import json_object, read_body, replaying
from app.http.response_cache import PUBLIC_VARY, ResponseCache, cache_control_for_get
from app.live.fanout import SharedFanoutHandler
from app.live.ws_auth import authenticate_socket
from dataloaders import Loaders
from db.session import Db
from resolvers.accounts.authentication import Credentials, authenticate_with_method
from resolvers.unit_of_work import Services
from schema.build import build_schema
from schema.compiled.operations import OperationReads
from schema.context import CACHE_HINT_KEY, CacheHint, Context
from schema.extensions.errors import classify
from schema.live_context import LiveContext

logger = logging.getLogger("mockinterview.auth")

OPEN_SESSIONS = "mockinterview.open_sessions"
LIVE_CONTEXT = "mockinterview.live_context"
LEARNED_TRIED = "mockinterview.learned_tried"  # the compiled answer was tried before the view ran
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json; charset=utf-8"


async def _send_data(send: Send, data: dict[str, Any], graphql_response_json: bool) -> None:
    """A successful reply as the view would write it."""
    content = orjson.dumps({"data": data})
    media_type = GRAPHQL_RESPONSE_JSON if graphql_response_json else "application/json"
    headers = [(b"content-type", media_type.encode()), (b"content-length", str(len(content)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def _json_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value.split(b";")[0].strip().lower() == b"application/json")
    return False


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
        wants_graphql_response_json = getattr(sub_response, "wants_graphql_response_json", False)
        request_error = isinstance(response_data, dict) and _is_request_error(response_data)
        if wants_graphql_response_json and request_error and isinstance(response_data, dict):
            # GraphQL-over-HTTP: with this media type a request error (no path: the document or its
            # variables were rejected before execution) has no `data` entry at all, and is a 4xx.
            response_data = response_data.copy()
            response_data.pop("data", None)
        response = super().create_response(response_data, sub_response)
        if wants_graphql_response_json:
            response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
            if request_error and response.status_code == 200:  # keep a 405 (mutation over GET)
                response.status_code = 400
        return response

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """One operation: its document resolved from `extensions.persistedQuery` (APQ or the
        allowlist), only queries over GET, and GET replies with a `Cache-Control` for shared caches."""
        method = request_adapter.method
        hint = CacheHint()
        if method == "GET":  # resolvers note when the board changes (the response cache may have set one)
            hint = request.scope.setdefault("state", {}).setdefault(CACHE_HINT_KEY, hint)
        tried = bool(request.scope.get("state", {}).get(LEARNED_TRIED))
        result, document = await self._execute(method, request_data, context, sub_response, tried)
        if any((e.extensions or {}).get("code") == BAD_REQUEST for e in result.errors or []):
            sub_response.status_code = 400  # cannot be served as sent (a subscription over HTTP)
        if method == "GET":
            cache_control = cache_control_for_get(
                credentials="authorization" in request.headers or "x-api-key" in request.headers,
                query=document,
                operation_name=request_data.operation_name,
                succeeded=not result.errors and result.data is not None,
                hint=hint,
                ttl_seconds=self.services.settings.response_cache_ttl_seconds,
                now=self.services.clock.now(),
            )
            sub_response.headers["cache-control"] = cache_control
            if cache_control.startswith("public"):
                sub_response.headers["vary"] = PUBLIC_VARY
        return result

    async def _execute(
        self,
        method: str,
        request_data: GraphQLRequestData,
        context: Context,
        sub_response: Response,
        learned_tried: bool = False,
    ) -> tuple[ExecutionResult, str | None]:
        """A query whose every root field compiles straight from its learned plan
        (schema/compiled/operations.py), anything else through Strawberry."""
        query, name = request_data.query, request_data.operation_name
        if not request_data.extensions and not learned_tried:
            data = await self.operation_reads.answer(query, name, request_data.variables, context)
            if data is not None:
                return ExecutionResult(data=data, errors=None), query
        result, document = await execute_request(
            self.schema, self.persisted_queries, method, request_data, context, sub_response
        )
        if not result.errors and result.data is not None and document is not None:
            self.operation_reads.learn(document, name)
        return result, document

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # A persisted query over GET has no `query` parameter, and curl accepts */*.
        return "extensions" not in request.query_params and super().should_render_graphql_ide(request)

    # Set by the lifespan before the first request.
    services: Services
    response_cache: ResponseCache | None = None
    # Set by build_graphql_view (the lifespan gives it Redis when configured).
    persisted_queries: PersistedQueries
    operation_reads: OperationReads

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_response(request.scope.get("root_path", ""))  # vendored assets, no CDN

    def encode_json(self, data: object) -> str:
        # orjson is several times faster than json.dumps; a str (not bytes) keeps websocket frames text.
        return orjson.dumps(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        try:
            return json.loads(data)
        except RecursionError as exc:  # "[[[[..." nested deeper than Python's stack: a bad body, a 400
            raise json.JSONDecodeError("Nested too deeply.", "", 0) from exc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            try:
                await super().__call__(scope, receive, send)
            finally:
                live = scope.get("state", {}).get(LIVE_CONTEXT)
                if isinstance(live, LiveContext):
                    live.stop_watching()
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        opened: list[Db] = []
        scope.setdefault("state", {})[OPEN_SESSIONS] = opened
        try:
            if scope["method"] == "POST" and _json_body(scope):
                body, complete = await read_body(receive)
                receive = replaying(body, complete, receive)
                if complete:
                    await self._post(scope, body, receive, send)
                    return
            await super().__call__(scope, receive, send)
        finally:
            # A cancelled request (client gone, shutdown) skips the per-operation cleanup; give
            # its connection back to the pool anyway.
            for db in opened:
                await asyncio.shield(db.close())

    async def _post(self, scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
        """A JSON POST. A query the compiled path has learned (schema/compiled/operations.py) is
        answered without Strawberry's request handling, which costs about as much as the answer;
        anything else, or a learned query it cannot answer exactly, goes through the view as usual
        (with the context already made)."""
        request = Request(scope, receive)
        context: Context | None = None
        learned = self._learned(body)
        if learned is not None:
            sub_response = await self.get_sub_response(request)
            context = await self.get_context(request, sub_response)
            data = await self.operation_reads.answer(*learned, context)
            if data is not None:
                await _send_data(send, data, getattr(sub_response, "wants_graphql_response_json", False))
                return
            scope["state"][LEARNED_TRIED] = True
        try:
            response = await (self.run(request) if context is None else self.run(request, context=context))
        except HTTPException as exc:
            response = PlainTextResponse(exc.reason, status_code=exc.status_code)
        await response(scope, receive, send)

    def _learned(self, body: bytes) -> tuple[str, str | None, dict[str, Any] | None] | None:
        """The query, operation name and variables of a body naming a learned query."""
        request = json_object(body)
        if request is None or request.get("extensions"):
            return None
        query, name, variables = request.get("query"), request.get("operationName"), request.get("variables")
        if not isinstance(name, str | None) or not isinstance(variables, dict | None):
            return None
        if not isinstance(query, str) or not self.operation_reads.knows(query, name):
            return None
        return query, name, variables

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
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            # Echoed in "Unknown operation named ..."; a lone surrogate could not even be encoded.
            if isinstance(item.operation_name, str) and not storable_text(item.operation_name):
                raise HTTPException(400, "The operation name must not contain NUL or unpaired surrogates.")
        return data

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        accept = request.headers.get("accept", "")
        sub_response.wants_graphql_response_json = "application/graphql-response+json" in accept  # type: ignore[attr-defined]
        return sub_response

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        db = Db(self.services.sessionmaker)
        if isinstance(request, Request):
            db.prefer_replica()  # until the operation writes (docs/deployment.md, "Read replicas")
            request.scope.get("state", {}).get(OPEN_SESSIONS, []).append(db)
        try:
            viewer, error, credentials = await authenticate_with_method(
                self.services, db, request.headers.get("authorization"), request.headers.get("x-api-key")
            )
        except Exception:  # the member could not be looked up (database down, connection lost)
            logger.exception("authentication failed")
            viewer, credentials = None, Credentials("anonymous")
            error = ServiceUnavailable("The service is unavailable right now; retry later.")
        context_class = LiveContext if isinstance(request, WebSocket) else Context
        context = context_class(
            services=self.services,
            connection=request,
            db=db,
            loaders=Loaders(db),
            viewer=viewer,
            auth_error=error,
            auth_method=credentials.method,
            api_key_scope=credentials.api_key_scope,
            session_id=credentials.session_id,
        )
        if isinstance(request, WebSocket):
            request.scope.setdefault("state", {})[LIVE_CONTEXT] = context
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate the `connection_init` token; a bad or expired one closes with 4403."""
        await authenticate_socket(self.services, context)
        unset: UnsetType = UNSET
        return unset


def build_graphql_view(settings: Settings) -> GraphQLView:
    """The GraphQL endpoint (HTTP and WebSocket) with the limits and protocols from `settings`."""
    schema = build_schema(settings)
    view = GraphQLView(
        schema=schema,
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        allow_queries_via_get=True,  # queries only (execute_request answers anything else with 405)
        multipart_uploads_enabled=True,  # only with GraphQL-Require-Preflight (see parse_http_body)
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
        connection_init_wait_timeout=timedelta(seconds=settings.ws_connection_init_timeout_seconds),
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        allowed_origins=tuple(settings.ws_allowed_origins or settings.cors_origins),
    )
    view.persisted_queries = PersistedQueries.from_settings(settings)
    view.operation_reads = OperationReads(schema)
    return view
