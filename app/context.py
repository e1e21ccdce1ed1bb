"""Per-process application state and the typed per-request Strawberry context."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
from sqlalchemy import Executable, Result
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from app.auth.passwords import Passwords
from app.auth.tokens import AccessTokens
from app.clock import Clock
from app.errors import Forbidden, Unauthenticated
from app.ratelimit import RateLimiter
from app.settings import Settings
from db.models import User

if TYPE_CHECKING:
    from app.events import EventHub
    from app.response_cache import ResponseCache
    from dataloaders import Loaders

T = TypeVar("T")
AfterCommit = Callable[[], Awaitable[None]]


@dataclass
class AppState:
    """Everything built once per process in the lifespan and shared by requests."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    passwords: Passwords
    tokens: AccessTokens
    rate_limiter: RateLimiter
    hub: EventHub
    clock: Clock = field(default_factory=Clock)
    response_cache: ResponseCache | None = None


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


@dataclass
class Context:
    """Typed Strawberry context (`strawberry.Info[Context, None]`)."""

    app: AppState
    connection: HTTPConnection
    db: Db
    loaders: Loaders
    viewer: User | None = None
    auth_error: Exception | None = None
    # How the viewer authenticated: "anonymous", "password" (access token) or "api_key".
    auth_method: str = "anonymous"
    api_key_scope: str | None = None
    # The websocket `connection_init` payload (Strawberry sets it; see app/ws_auth.py).
    connection_params: dict[str, Any] | None = None

    @property
    def settings(self) -> Settings:
        return self.app.settings

    @property
    def client_ip(self) -> str:
        return self.connection.client.host if self.connection.client else "unknown"

    def now(self) -> datetime:
        return self.app.clock.now()

    def optional_viewer(self) -> User | None:
        """The signed-in member, None for anonymous; raises if a bad token was presented."""
        if self.auth_error is not None:
            raise self.auth_error
        return self.viewer

    def require_viewer(self) -> User:
        viewer = self.optional_viewer()
        if viewer is None:
            raise Unauthenticated()
        return viewer

    def require_session_viewer(self) -> User:
        """The viewer, refusing API keys: for managing keys, sessions and the password."""
        viewer = self.require_viewer()
        if self.auth_method == "api_key":
            raise Forbidden("API keys cannot do this; sign in with a session.")
        return viewer


def blocked_error(user: User, now: datetime) -> Forbidden | None:
    """A FORBIDDEN error when `user` is currently blocked."""
    if user.blocked_at is None:
        return None
    if user.blocked_until is not None and user.blocked_until <= now:
        return None
    until = user.blocked_until.isoformat() if user.blocked_until else None
    return Forbidden("This account is blocked.", blockedUntil=until)
