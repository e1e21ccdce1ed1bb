"""A request cancelled at any point gives its database connection back to the pool."""

from __future__ import annotations

import asyncio
import gc

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.types import Message


async def _call(app: Starlette, body: bytes, token: str | None = None) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        return None

    await app(scope, receive, send)


@pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")
async def test_cancelled_requests_do_not_leak_connections(app: Starlette, engine: AsyncEngine) -> None:
    pool = engine.sync_engine.pool
    baseline = pool.checkedout()  # type: ignore[attr-defined]
    body = orjson.dumps({"query": "{ specializations { id name } a: specializations { id } }"})
    for step in range(40):
        task = asyncio.create_task(_call(app, body))
        await asyncio.sleep(step * 0.0005)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0.2)
    gc.collect()  # a leaked session would be found here and warn (an error in this test)
    assert pool.checkedout() <= baseline  # type: ignore[attr-defined]
