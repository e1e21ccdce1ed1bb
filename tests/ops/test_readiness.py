"""`/readyz` is 503 "migrations pending" while the database lacks this release's migrations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.http.factory import create_app
from app.http.health import MigrationGate
from db.migrate import applied_revisions, migration_status, upgrade
from db.session import create_engine
from tests import infra
from tests.conftest import make_settings


@pytest.fixture
async def database_at_0002(postgres_server: str) -> AsyncIterator[str]:
    name = infra.fresh_database_name() + "_ready"
    url = await infra.create_database(postgres_server, name)
    await asyncio.to_thread(upgrade, url, "0002")
    yield url
    await infra.drop_database(postgres_server, name)


async def test_readyz_waits_for_migrations_then_stops_checking(database_at_0002: str) -> None:
    app = create_app(make_settings(database_at_0002, None))
    async with app.router.lifespan_context(app):
        gate: MigrationGate = app.state.migrations
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.get("/readyz")
            assert response.status_code == 503
            assert response.json() == {"status": "migrations pending"}
            assert (await http.get("/healthz")).status_code == 200  # alive all the same

            await asyncio.to_thread(upgrade, database_at_0002)  # `mockinterview migrate`
            response = await http.get("/readyz")
            assert response.status_code == 200
            assert response.json() == {"status": "ready"}
            assert gate.at_head
            # Once at head it is never asked again: only `SELECT 1` runs per probe.
            statements: list[str] = []
            engine: AsyncEngine = app.state.engine

            def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
                statements.append(statement)

            event.listen(engine.sync_engine, "before_cursor_execute", seen)
            try:
                assert (await http.get("/readyz")).status_code == 200
            finally:
                event.remove(engine.sync_engine, "before_cursor_execute", seen)
            assert not [s for s in statements if "alembic_version" in s], statements


async def test_a_database_a_newer_release_migrated_is_ready(database_at_0002: str) -> None:
    await asyncio.to_thread(upgrade, database_at_0002)
    engine = create_engine(database_at_0002, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
            assert await applied_revisions(connection) == ("9999_from_the_future",)
        gate = await MigrationGate.at_startup(engine)
        assert gate.at_head
    finally:
        await engine.dispose()


def test_migration_status_compares_with_the_scripts_head() -> None:
    head = migration_status(()).heads
    assert migration_status(()).pending  # never migrated
    assert migration_status(("0001",)).pending
    assert not migration_status(head).pending
    assert not migration_status(("0099_newer",)).pending  # expand/contract: an older release runs on it
    assert migration_status(("0002",)).describe() == f"at 0002, this release needs {', '.join(head)}"
