"""ASGI middleware: one access log line and metrics per HTTP request; websocket tracking.

The GraphQL operation name/type and the member id reach us through `scope["state"]`, written by the
`schema.extensions.request_info.RequestInfo` extension. Only those, the method, the path (with path parameters
such as calendar tokens replaced by their names) and timing are logged: never headers, query strings,
bodies or variables.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import metrics
from app.live.shutdown import GOING_AWAY, WebSocketRegistry
from app.ops.tracing import finish_request_span, request_span

if TYPE_CHECKING:  # OpenTelemetry is an optional extra, imported only when tracing is on
    from opentelemetry.trace import Tracer

access_logger = logging.getLogger("mockinterview.access")

_SUBSCRIBE = frozenset({"subscribe", "start"})  # graphql-transport-ws, legacy graphql-ws
_CLIENT_STOP = frozenset({"complete", "stop"})
_SERVER_STOP = frozenset({"complete", "error"})


def loggable_path(scope: Scope) -> str:
    """The request path with every path parameter value replaced by `{name}`."""
    path: str = scope.get("path", "")
    for name, value in (scope.get("path_params") or {}).items():
        text = str(value)
        if text:
            path = path.replace(text, "{" + name + "}")
    return path


class Observability:
    """Wraps HTTP requests (access log + metrics) and websockets (gauges + shutdown registry)."""

    def __init__(self, app: ASGIApp, websockets: WebSocketRegistry, tracer: Tracer | None = None) -> None:
        self.app = app
        self.websockets = websockets
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.tracer is None:
            await self._http_logged(scope, receive, send, None)
            return
        with request_span(self.tracer, scope) as span:
            await self._http_logged(scope, receive, send, span)

    async def _http_logged(self, scope: Scope, receive: Receive, send: Send, span: Any) -> None:
        started = time.perf_counter()
        status = 500

        async def send_tracking(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        finally:
            duration = time.perf_counter() - started
            state: dict[str, Any] = scope.get("state") or {}
            metrics.record_http_request(
                path=scope["path"],
                method=scope["method"],
                status=status,
                duration=duration,
                operation_type=state.get("operation_type"),
                operation_name=state.get("operation_name"),
            )
            engine = getattr(getattr(scope.get("app"), "state", None), "engine", None)
            metrics.update_pool_gauges(engine)
            path = loggable_path(scope)
            access_logger.info(
                "%s %s %s %.1fms",
                scope["method"],
                path,
                status,
                duration * 1000,
                extra={
                    "request_id": state.get("request_id"),
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": round(duration * 1000, 2),
                    "operation_name": _short(state.get("operation_name")),
                    "operation_type": state.get("operation_type"),
                    "user_id": state.get("user_id"),
                    "client_ip": (scope.get("client") or (None,))[0],
                },
            )
            if span is not None:
                finish_request_span(
                    span,
                    {
                        "http.request.method": scope["method"],
                        "url.path": path,
                        "http.response.status_code": status,
                        "graphql.operation.type": state.get("operation_type"),
                        "graphql.operation.name": _short(state.get("operation_name")),
                        "enduser.id": state.get("user_id"),
                        "mockinterview.request_id": state.get("request_id"),
                    },
                )

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.websockets.closing:
            await send({"type": "websocket.close", "code": GOING_AWAY})
            return
        subscriptions: set[str] = set()
        accepted = closed_by_us = False
        key: int | None = None
        started = time.perf_counter()

        async def close(code: int) -> None:
            nonlocal closed_by_us
            if not closed_by_us:
                closed_by_us = True
                await send({"type": "websocket.close", "code": code})

        def track(message: Message, starting: frozenset[str], stopping: frozenset[str]) -> None:
            text = message.get("text")
            if not text or len(text) > 65536 or not text.startswith("{"):
                return
            with contextlib.suppress(ValueError):
                payload = orjson.loads(text)
                kind, op_id = payload.get("type"), payload.get("id")
                if not isinstance(op_id, str):
                    return
                if kind in starting and op_id not in subscriptions:
                    subscriptions.add(op_id)
                    metrics.SUBSCRIPTIONS.inc()
                elif kind in stopping and op_id in subscriptions:
                    subscriptions.discard(op_id)
                    metrics.SUBSCRIPTIONS.dec()

        async def receive_tracking() -> Message:
            message = await receive()
            if message["type"] == "websocket.receive":
                track(message, _SUBSCRIBE, _CLIENT_STOP)
            return message

        async def send_tracking(message: Message) -> None:
            nonlocal accepted, key
            if closed_by_us:
                return  # the socket is closing; the handler has not noticed yet
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                metrics.WEBSOCKETS.inc()
                key, _ = self.websockets.add(close)
            elif message["type"] == "websocket.send" and not _is_data_frame(message):
                track(message, frozenset(), _SERVER_STOP)
            await send(message)

        try:
            await self.app(scope, receive_tracking, send_tracking)
        finally:
            if accepted:
                metrics.WEBSOCKETS.dec()
            if subscriptions:
                metrics.SUBSCRIPTIONS.dec(len(subscriptions))
            if key is not None:
                self.websockets.discard(key)
            _log_websocket_closed(scope, started, accepted=accepted, closed_by_server=closed_by_us)


def _log_websocket_closed(scope: Scope, started: float, *, accepted: bool, closed_by_server: bool) -> None:
    """The access log line of a websocket, written when it ends."""
    state: dict[str, Any] = scope.get("state") or {}
    access_logger.info(
        "websocket %s closed after %.1fs",
        scope.get("path", ""),
        time.perf_counter() - started,
        extra={
            "request_id": state.get("request_id"),
            "path": scope.get("path", ""),
            "websocket": True,
            "accepted": accepted,
            "closed_by_server": closed_by_server,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "user_id": state.get("user_id"),
        },
    )


def _is_data_frame(message: Message) -> bool:
    """A `next`/`data` result frame: the hot path of fan-out, and never a subscription's end."""
    head = (message.get("text") or "")[:256]
    return any(
        marker in head for marker in ('"type":"next"', '"type": "next"', '"type":"data"', '"type": "data"')
    )


def _short(value: object) -> str | None:
    return value[:100] if isinstance(value, str) else None
