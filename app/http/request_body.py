"""A POST body read once by a layer in front of the GraphQL view (the response cache, the compiled
query lane) and handed on unchanged to the view."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.types import Message, Receive

# Larger bodies are passed on unread by the layers (they are not cacheable or learned queries).
MAX_BODY_BYTES = 64_000


async def read_body(receive: Receive) -> tuple[bytes, bool]:
    """The request body, and False when the client went away or it is too large to consider."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False) or size > MAX_BODY_BYTES:
            return b"".join(chunks), not message.get("more_body", False)


def replaying(body: bytes, complete: bool, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A `receive` that gives the body read by `read_body` first, then whatever follows."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": not complete}

    return replay


def json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object; None for anything else (the view reports it)."""
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return request if isinstance(request, dict) else None
