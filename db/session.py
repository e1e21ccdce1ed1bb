"""Engine and session factory helpers."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

IDLE_PING_SECONDS = 5.0


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
