"""ASGI middleware: request ids and a request body size limit; the stack (with security headers and
CORS, app/http/security_headers.py and app/http/cors.py)."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.settings import Settings
from app.http.cors import ALLOWED_HEADERS, ALLOWED_METHODS, JsonCORSMiddleware
from app.http.security_headers import SecurityHeaders
from app.live.shutdown import WebSocketRegistry
from app.ops.observability import Observability

PAYLOAD_TOO_LARGE = orjson.dumps(
    {"errors": [{"message": "Request body too large.", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]}
)


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuses bodies over `max_bytes` with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._reject(send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(send)

    @staticmethod
    async def _reject(send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": PAYLOAD_TOO_LARGE})


class RequestId:
    """Takes `X-Request-ID` from the client (if sane) or makes one, and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


def middleware_stack(settings: Settings, websockets: WebSocketRegistry, tracer: Any) -> list[Middleware]:
    """Request ids, security headers, access log/metrics/tracing, the body size limit and CORS,
    outermost first. CORS is always on: with no `CORS_ORIGINS` every preflight gets a JSON refusal."""
    return [
        Middleware(RequestId),
        Middleware(SecurityHeaders, hsts_max_age_seconds=settings.hsts_max_age_seconds),
        Middleware(Observability, websockets=websockets, tracer=tracer),
        Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
        Middleware(
            JsonCORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=list(ALLOWED_METHODS),
            allow_headers=list(ALLOWED_HEADERS),
        ),
    ]
