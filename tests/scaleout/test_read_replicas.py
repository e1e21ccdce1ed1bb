"""Read replicas against a real streaming standby (`pg_basebackup -R`) that these tests start."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from starlette.applications import Starlette

from app.core.clock import Clock
from app.http.factory import create_app
from db.migrate import upgrade
from db.replicas import ReadRouter
from db.session import Db
from resolvers.unit_of_work import Services
from tests.conftest import make_settings
from tests.helpers import GraphQLClient
from tests.scaleout.postgres_pair import Pair, primary_and_standby

ME = "query { me { displayName } }"
RENAME = "mutation($name: String!) { updateProfile(input: {displayName: $name}) { displayName } }"


@dataclass
class App:
    app: Starlette
    http: GraphQLClient

    @property
    def router(self) -> ReadRouter:
        services: Services = self.app.state.services
        router = getattr(services.sessionmaker, "router", None)
        assert isinstance(router, ReadRouter)
        return router


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with primary_and_standby() as started:
        yield started


async def _scalar(url: str, sql: str) -> object:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


async def caught_up(pair: Pair) -> None:
    """Wait until the standby replayed everything the primary wrote so far."""
    target = await _scalar(pair.primary.url(), "SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + 30
    sql = f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"
    while not await _scalar(pair.standby.url(), sql):
        assert time.monotonic() < deadline, "the standby did not catch up"
        await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
async def apps(pair: Pair, redis_url: str) -> AsyncIterator[tuple[App, App]]:
    """Two instances (as behind a load balancer) on the primary, reading from the standby."""
    await _scalar(pair.primary.url(), "CREATE DATABASE mi")
    await asyncio.to_thread(upgrade, pair.primary.url("mi"))
    await caught_up(pair)
    prefix = f"test-replicas-{time.monotonic_ns()}:"
    settings = make_settings(
        pair.primary.url("mi"),
        redis_url,
        redis_prefix=prefix,
        db_pool_size=4,
        database_replica_urls=[pair.standby.url("mi")],
        # Paused replay (below) must not make the standby unusable for everyone: that is another test.
        database_replica_max_lag_seconds=60,
        database_replica_check_seconds=0.2,
        response_cache_enabled=False,
    )
    started: list[App] = []
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(2):
            app = create_app(settings, clock=Clock())
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
            started.append(App(app, GraphQLClient(await stack.enter_async_context(client))))
        yield started[0], started[1]


async def test_reads_go_to_the_replica_and_writes_to_the_primary(apps: tuple[App, App]) -> None:
    services: Services = apps[0].app.state.services
    db = Db(services.sessionmaker)
    db.prefer_replica()
    try:
        assert (await db.execute(text("SELECT pg_is_in_recovery()"))).scalar_one() is True
        records = await db.fetch_raw("SELECT pg_is_in_recovery() AS standby")
        assert records[0]["standby"] is True
        async with db.transaction() as session:
            assert (await session.execute(text("SELECT pg_is_in_recovery()"))).scalar_one() is False
        # From its first write on, the request reads its own writes on the primary.
        assert (await db.execute(text("SELECT pg_is_in_recovery()"))).scalar_one() is False
    finally:
        await db.close()
    raw_first = Db(services.sessionmaker)  # a request whose first read is raw (the compiled reads)
    raw_first.prefer_replica()
    try:
        assert (await raw_first.fetch_raw("SELECT pg_is_in_recovery() AS standby"))[0]["standby"] is True
        assert (await raw_first.execute(text("SELECT pg_is_in_recovery()"))).scalar_one() is True
    finally:
        await raw_first.close()
    plain = Db(services.sessionmaker)  # not opted in (jobs, websockets): the primary
    try:
        assert (await plain.execute(text("SELECT pg_is_in_recovery()"))).scalar_one() is False
    finally:
        await plain.close()


@contextlib.asynccontextmanager
async def replay_paused(pair: Pair) -> AsyncIterator[None]:
    await _scalar(pair.standby.url(), "SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        await _scalar(pair.standby.url(), "SELECT pg_wal_replay_resume()")


async def test_a_member_reads_their_write_through_another_instance(apps: tuple[App, App], pair: Pair) -> None:
    a, b = apps
    for app in apps:
        app.router.fresh_token = 0  # no time window: the commit LSN alone must carry the member
    member = await a.http.sign_up("writer")
    other = await a.http.sign_up("reader")
    await caught_up(pair)
    async with replay_paused(pair):
        for round_ in range(5):
            name = f"Renamed {round_}"
            await a.http.data(RENAME, {"name": name}, token=member.access_token)
            # At once, through the other instance: the standby cannot have it (replay is paused).
            assert (await b.http.data(ME, token=member.access_token))["me"]["displayName"] == name
        # Someone else is served by the standby, which still has the old name.
        seen = await b.http.data(NODE_NAME, {"id": member.id}, token=other.access_token)
        assert seen["node"]["displayName"] == "Writer"
    await caught_up(pair)
    # Once the standby has replayed the write, the member's reads go there again.
    assert (await b.http.data(ME, token=member.access_token))["me"]["displayName"] == "Renamed 4"
    assert b.router.replicas[0].usable


NODE_NAME = "query($id: ID!) { node(id: $id) { ... on User { displayName } } }"


async def test_a_fresh_token_reads_from_the_primary(apps: tuple[App, App], pair: Pair) -> None:
    a, b = apps
    for app in apps:
        app.router.fresh_token = app.router.max_lag
    async with replay_paused(pair):
        # Signing up writes while nobody is signed in: the young token is what sends reads to the primary.
        member = await a.http.sign_up("newcomer")
        assert (await b.http.data(ME, token=member.access_token))["me"]["displayName"] == "Newcomer"
    await caught_up(pair)


async def test_a_lagging_replica_is_skipped(apps: tuple[App, App], pair: Pair) -> None:
    a, b = apps
    member, other = await a.http.sign_up("lagging"), await a.http.sign_up("onlooker")
    await caught_up(pair)
    b.router.max_lag, b.router.fresh_token = 0.5, 0
    try:
        async with replay_paused(pair):
            await a.http.data(RENAME, {"name": "Moved on"}, token=member.access_token)
            await asyncio.sleep(1.0)  # longer than the max lag behind the primary
            seen = await b.http.data(NODE_NAME, {"id": member.id}, token=other.access_token)
            assert seen["node"]["displayName"] == "Moved on"  # so: from the primary
            assert not b.router.replicas[0].usable
    finally:
        b.router.max_lag = 60
    await caught_up(pair)


async def test_a_stopped_replica_falls_back_to_the_primary(apps: tuple[App, App], pair: Pair) -> None:
    a, b = apps
    member = await a.http.sign_up("fallback")
    await caught_up(pair)
    board = "query { openSlots(first: 5) { edges { node { id } } } specializations { id } }"
    await b.http.data(board)  # pooled connections to the standby now exist
    pair.standby.stop()
    try:
        for round_ in range(20):
            await b.http.data(board)
            await b.http.data(RENAME, {"name": f"Down {round_}"}, token=member.access_token)
            assert (await b.http.data(ME, token=member.access_token))["me"]["displayName"] == f"Down {round_}"
        assert not b.router.replicas[0].usable
    finally:
        pair.standby.start()
    await caught_up(pair)
    await asyncio.sleep(0.3)  # one check interval
    await b.http.data(board)
    assert b.router.replicas[0].usable
