"""Engine and session factory helpers, and `Db`: one request's or operation's database access."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import asyncpg
from sqlalchemy import Executable, Result, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

IDLE_PING_SECONDS = 5.0
AfterCommit = Callable[[], Awaitable[None]]


def async_url(url: str) -> str:
    """Turn a `postgresql://` URL into the asyncpg dialect URL SQLAlchemy needs."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a postgresql:// URL")


def sync_url(url: str) -> str:
    """The same database for alembic, which runs on the async engine too (see migrations/env.py)."""
    return async_url(url)


def create_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 10, ping_idle_seconds: float = IDLE_PING_SECONDS
) -> AsyncEngine:
    """An asyncpg engine that survives database restarts.

    SQLAlchemy's `pool_pre_ping` costs three round trips (BEGIN, `;`, ROLLBACK with asyncpg) on every
    checkout. Instead a connection is pinged only when it sat idle in the pool for `ping_idle_seconds`;
    one in steady use is not. A connection that dies while busy raises a disconnect error in its
    request, and SQLAlchemy then invalidates the whole pool, so later checkouts reconnect.
    """
    engine = create_async_engine(async_url(url), pool_size=pool_size, max_overflow=max_overflow)
    _ping_when_idle(engine, ping_idle_seconds)
    return engine


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    @event.listens_for(engine.sync_engine, "checkin")
    def checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        last = record.info.get("checked_in_at")
        if last is None or time.monotonic() - last < idle_seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # the pool retries the checkout with a fresh connection
            raise DisconnectionError("idle connection failed its ping") from exc


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def _connection_broken(exc: Exception) -> bool:
    """True unless `exc` is PostgreSQL refusing a statement on a healthy connection (SQLSTATE classes
    08 connection exception and 57P operator intervention, e.g. a restart, mean it is gone too)."""
    if isinstance(exc, asyncpg.PostgresError):
        return str(exc.sqlstate or "").startswith(("08", "57P"))
    return True


class Db:
    """One request's database access.

    Strawberry resolves sibling fields concurrently, but one AsyncSession must not be used by
    concurrent tasks, so every statement goes through a lock. Inside `transaction()` use the
    session it yields (not `execute`/loaders, which would wait for the lock you hold).
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._session: AsyncSession | None = None
        self.lock = asyncio.Lock()
        self._after_commit: list[AfterCommit] = []

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self._sessionmaker()
        return self._session

    async def execute(self, statement: Executable, params: dict[str, Any] | None = None) -> Result[Any]:
        async with self.lock:
            return await self.session.execute(statement, params)

    async def fetch_raw(self, sql: str, *params: Any) -> list[Any]:
        """One read statement with numbered parameters straight on this session's asyncpg connection
        (inside its transaction when one has begun): for hot reads where SQLAlchemy's per-statement
        work would dominate. Records are asyncpg `Record`s."""
        async with self.lock:
            connection = await self.session.connection()
            driver: Any = (await connection.get_raw_connection()).driver_connection
            try:
                records: list[Any] = await driver.fetch(sql, *params)
            except Exception as exc:
                if _connection_broken(exc) or driver.is_closed():
                    # What SQLAlchemy does when its own statements meet a dead connection: drop it
                    # and every pooled one (a database restart killed them all), so that only this
                    # request fails.
                    with suppress(Exception):
                        await connection.invalidate()
                    await connection.engine.dispose()
                raise
            return records

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits once at the end, rolls back on error, then runs after-commit hooks."""
        async with self.lock:
            session = self.session
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                self._after_commit.clear()
                raise
        hooks, self._after_commit = self._after_commit, []
        for hook in hooks:
            await hook()

    def after_commit(self, hook: AfterCommit) -> None:
        """Run `hook` once the current transaction has committed (e.g. publish an event)."""
        self._after_commit.append(hook)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
