"""How many pooled connections one `Db` holds, and that its raw reads survive a killed connection."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.session import Db, async_url, create_engine, create_sessionmaker


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=2, max_overflow=0)
    yield engine
    await engine.dispose()


def checked_out(engine: AsyncEngine) -> int:
    return engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined,no-any-return]


async def test_raw_reads_alone_hold_one_connection_and_no_session(engine: AsyncEngine) -> None:
    db = Db(create_sessionmaker(engine))
    try:
        first = await db.fetch_raw("SELECT pg_backend_pid() AS pid")
        second = await db.fetch_raw("SELECT pg_backend_pid() AS pid")
        assert first[0]["pid"] == second[0]["pid"]  # the same connection for the whole request
        assert checked_out(engine) == 1
        assert db._session is None
    finally:
        await db.close()
    assert checked_out(engine) == 0


async def test_the_session_takes_over_from_the_raw_connection(engine: AsyncEngine) -> None:
    db = Db(create_sessionmaker(engine))
    try:
        await db.fetch_raw("SELECT 1 AS one")
        assert (await db.execute(text("SELECT 2"))).scalar_one() == 2
        assert checked_out(engine) == 1  # the raw connection went back before the session took one
        async with db.transaction() as session:
            await session.execute(text("CREATE TEMPORARY TABLE seen (n int)"))
            await session.execute(text("INSERT INTO seen VALUES (7)"))
            assert checked_out(engine) == 1
        assert checked_out(engine) == 0  # committed: the session gave its connection back
    finally:
        await db.close()
    assert checked_out(engine) == 0


async def test_a_killed_raw_connection_fails_one_read_and_the_next_request_reconnects(
    engine: AsyncEngine, database_url: str
) -> None:
    db = Db(create_sessionmaker(engine))
    try:
        pid = (await db.fetch_raw("SELECT pg_backend_pid() AS pid"))[0]["pid"]
        admin = await asyncpg.connect(async_url(database_url).replace("postgresql+asyncpg", "postgresql"))
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        broken = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)
        with pytest.raises(broken):
            await db.fetch_raw("SELECT 1 AS one")
    finally:
        await db.close()
    assert checked_out(engine) == 0
    fresh = Db(create_sessionmaker(engine))
    try:
        assert (await fresh.fetch_raw("SELECT 1 AS one"))[0]["one"] == 1
    finally:
        await fresh.close()
