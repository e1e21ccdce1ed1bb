"""Two app instances in this process, sharing one committed database and Redis (like two servers
behind a load balancer), each also serving websockets on a real port. A test module makes a
fixture of `two_instances`."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from app.core.clock import Clock
from app.http.factory import create_app
from db.migrate import upgrade
from db.models import User
from resolvers.unit_of_work import Services
from tests import infra
from tests.conftest import make_settings
from tests.helpers import GraphQLClient, Member, db_id
from tests.process import free_port

ME = "query { me { id role } }"


@dataclass
class Instance:
    app: Starlette
    http: GraphQLClient
    ws_url: str

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    @property
    def engine(self) -> AsyncEngine:
        engine: AsyncEngine = self.app.state.engine
        return engine


@dataclass
class Instances:
    a: Instance
    b: Instance

    async def set_role(self, member: Member, role: str) -> None:
        """Give a role behind the app's back (test setup; sends no event)."""
        async with self.a.engine.begin() as conn:
            await conn.execute(update(User).where(User.id == db_id(member.id)).values(role=role))


@contextlib.asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[str]:
    """`app` (its lifespan already running) on a free port; the websocket URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, port=port, lifespan="off", log_level="warning", timeout_graceful_shutdown=5)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  # uvicorn exposes only a flag
        await asyncio.sleep(0.02)
    try:
        yield f"ws://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def two_instances(postgres_server: str, redis_url: str) -> AsyncIterator[Instances]:
    """Two running instances on a fresh database of their own (dropped after)."""
    name = infra.fresh_database_name()
    url = await infra.create_database(postgres_server, name)
    await asyncio.to_thread(upgrade, url)
    prefix = f"test-{secrets.token_hex(4)}:"
    started: list[Instance] = []
    try:
        async with contextlib.AsyncExitStack() as stack:
            for host in ("203.0.113.21", "203.0.113.22"):
                # Small pools: the test server's connections are shared with the rest of the suite.
                settings = make_settings(url, redis_url, redis_prefix=prefix, db_pool_size=4)
                app = create_app(settings, clock=Clock())
                await stack.enter_async_context(app.router.lifespan_context(app))
                transport = httpx.ASGITransport(app=app, client=(host, 50000))
                http = await stack.enter_async_context(
                    httpx.AsyncClient(transport=transport, base_url="http://testserver")
                )
                ws_url = await stack.enter_async_context(served(app))
                started.append(Instance(app, GraphQLClient(http), ws_url))
            await asyncio.sleep(0.2)  # both session caches follow the access channel
            yield Instances(*started)
    finally:
        await infra.drop_database(postgres_server, name)


async def within(seconds: float, check: Callable[[], Awaitable[bool]], interval: float = 0.02) -> float:
    """Seconds until `check()` is true; fails when it is not within `seconds`."""
    began = time.monotonic()
    while True:
        if await check():
            return time.monotonic() - began
        elapsed = time.monotonic() - began
        assert elapsed < seconds, f"not within {seconds} s"
        await asyncio.sleep(interval)


async def refused(http: GraphQLClient, token: str, code: str = "UNAUTHENTICATED", query: str = ME) -> bool:
    """True when `query` with `token` fails with `code`."""
    result: dict[str, Any] = await http.execute(query, token=token)
    errors = result.get("errors") or []
    return bool(errors) and errors[0]["extensions"]["code"] == code
