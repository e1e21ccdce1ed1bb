"""Engine and session factory helpers, and `Db`: one request's or operation's database access."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any
from urllib.parse import quote, urlencode

import asyncpg
from sqlalchemy import URL, Executable, Result, event, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from db.replicas import Replica, RoutedSessionmaker

IDLE_PING_SECONDS = 5.0
AfterCommit = Callable[[], Awaitable[None]]
# libpq's TLS parameters (e.g. `?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem`). asyncpg reads
# them, as libpq does, from a DSN; SQLAlchemy would hand them to it as unknown keyword arguments.
LIBPQ_TLS_PARAMETERS = frozenset(
    {"sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "sslcrl", "sslnegotiation"}
    | {"ssl_min_protocol_version", "ssl_max_protocol_version"}
)


def async_url(url: str) -> str:
    """Turn a `postgresql://` URL into the asyncpg dialect URL SQLAlchemy needs."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a postgresql:// URL")


def sync_url(url: str) -> str:
    """The same database for alembic, which runs on the async engine too (see migrations/env.py)."""
    return async_url(url)


def engine_arguments(url: str) -> tuple[URL, dict[str, Any]]:
    """The SQLAlchemy URL and `connect_args` of a DATABASE_URL. Its libpq TLS parameters move into a
    DSN of their own that asyncpg reads like libpq does (the URL's host, user and database, passed
    as keywords, take precedence), so `sslmode`/`sslrootcert` mean what they mean to psql and to
    the job queue's asyncpg pool, which gets DATABASE_URL as it is."""
    parsed = make_url(async_url(url))
    tls = {name: value for name, value in parsed.query.items() if name in LIBPQ_TLS_PARAMETERS}
    if not tls:
        return parsed, {}
    return parsed.difference_update_query(tls), {
        "dsn": "postgresql://?" + urlencode(tls, doseq=True, quote_via=quote)
    }


def create_database_engine(url: str, **options: Any) -> AsyncEngine:
    """`create_async_engine` for a DATABASE_URL (see `engine_arguments`)."""
    parsed, connect_args = engine_arguments(url)
    return create_async_engine(parsed, connect_args=connect_args, **options)


def create_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 10, ping_idle_seconds: float = IDLE_PING_SECONDS
) -> AsyncEngine:
    """An asyncpg engine that survives database restarts.

    SQLAlchemy's `pool_pre_ping` costs three round trips (BEGIN, `;`, ROLLBACK with asyncpg) on every
    checkout. Instead a connection is pinged only when it sat idle in the pool for `ping_idle_seconds`;
    one in steady use is not. A connection that dies while busy raises a disconnect error in its
    request, and SQLAlchemy then invalidates the whole pool, so later checkouts reconnect.
    """
    engine = create_database_engine(url, pool_size=pool_size, max_overflow=max_overflow)
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


def create_sessionmaker(engine: AsyncEngine) -> RoutedSessionmaker:
    return RoutedSessionmaker(engine, expire_on_commit=False, autoflush=False)


def _connection_broken(exc: Exception) -> bool:
    """True unless `exc` is PostgreSQL refusing a statement on a healthy connection (SQLSTATE classes
    08 connection exception and 57P operator intervention, e.g. a restart, mean it is gone too)."""
    if isinstance(exc, asyncpg.PostgresError):
        return str(exc.sqlstate or "").startswith(("08", "57P"))
    return True


def _driver_dead(exc: Exception, driver: Any) -> bool:
    """True when `exc` on the asyncpg connection `driver` means the connection is gone."""
    return _connection_broken(exc) or bool(driver.is_closed())


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
        # Read replicas (db/replicas.py): only for a Db that `prefer_replica()` opted in, decided at
        # its first statement; its first transaction moves it to the primary for good.
        self._router = sessionmaker.router if isinstance(sessionmaker, RoutedSessionmaker) else None
        self._may_use_replica = False
        self._member: int | None = None
        self._token_age: float | None = None
        self._replica: Replica | None = None
        # The asyncpg connection under `_driver_of`'s current transaction (`_fetch_raw`).
        self._driver: Any = None
        self._driver_of: AsyncSession | None = None
        # A pooled connection of its own for raw reads while this Db has no session (`_fetch_pooled`).
        self._pooled: PoolProxiedConnection | None = None

    def prefer_replica(self) -> None:
        """Let this Db's reads go to a replica until it writes (GraphQL requests over HTTP)."""
        self._may_use_replica = self._router is not None and self._session is None

    def stay_on_primary(self) -> None:
        """Read from the primary after all (e.g. an API key, which may be minutes old on a replica)."""
        self._may_use_replica = False

    def reads_for(self, member: int, token_age: float | None = None) -> None:
        """This Db acts for `member`: its reads must see their writes (read-your-writes)."""
        self._member, self._token_age = member, token_age

    async def _choose_reader(self) -> None:
        """Decide once, at the first read, whether this Db reads from a replica (`_replica`)."""
        if self._may_use_replica and self._router is not None:
            self._may_use_replica = False
            self._replica = await self._router.reader(self._member, self._token_age)

    async def _read_session(self) -> AsyncSession:
        if self._session is None:
            await self._choose_reader()
            await self._release_pooled()  # one connection per Db: the session takes over
            if self._replica is not None:
                self._session = self._replica.sessionmaker()
        return self.session

    async def _leave_replica(self, exc: BaseException | None) -> bool:
        """Move to the primary; True when the failed read (`exc`) should be retried there."""
        replica, self._replica = self._replica, None
        if replica is None:
            return False
        session, self._session = self._session, None
        self._forget_driver()
        await self._release_pooled()
        if session is not None:
            with suppress(Exception):
                await session.close()
        if exc is not None and self._router is not None and _replica_broken(exc):
            await self._router.failed(replica)
        return exc is not None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self._sessionmaker()
        return self._session

    async def execute(self, statement: Executable, params: dict[str, Any] | None = None) -> Result[Any]:
        async with self.lock:
            session = await self._read_session()
            try:
                return await session.execute(statement, params)
            except (DBAPIError, OSError, TimeoutError) as exc:
                if not await self._leave_replica(exc):  # a read is safe to repeat on the primary
                    raise
            return await self.session.execute(statement, params)

    async def fetch_raw(self, sql: str, *params: Any) -> list[Any]:
        """One read statement with numbered parameters straight on this session's asyncpg connection
        (inside its transaction when one has begun): for hot reads where SQLAlchemy's per-statement
        work would dominate. Records are asyncpg `Record`s."""
        async with self.lock:
            try:
                if self._session is None:
                    await self._choose_reader()
                    engine = self._reading_engine()
                    if engine is not None:
                        return await self._fetch_pooled(engine, sql, params)
                return await self._fetch_raw(await self._read_session(), sql, params)
            except Exception as exc:
                if not await self._leave_replica(exc):  # a read is safe to repeat on the primary
                    raise
            return await self._fetch_raw(self.session, sql, params)

    def _reading_engine(self) -> AsyncEngine | None:
        """The engine raw reads may take a connection of their own from: the chosen replica's or the
        primary's, unless the sessionmaker is bound to one connection (the tests' outer transaction)."""
        maker = self._replica.sessionmaker if self._replica is not None else self._sessionmaker
        bind = maker.kw.get("bind")
        return bind if isinstance(bind, AsyncEngine) else None

    async def _fetch_pooled(self, engine: AsyncEngine, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """A raw read on a pooled connection taken straight from the engine: a request that only reads
        raw (the compiled reads, the viewer) never builds an ORM session, whose checkout and close cost
        more than its one statement. The reads run outside any transaction, as they do on the session's
        connection before it begins one."""
        if self._pooled is None:
            self._pooled = await engine.raw_connection()
        driver: Any = self._pooled.driver_connection
        try:
            records: list[Any] = await driver.fetch(sql, *params)
        except Exception as exc:
            if _driver_dead(exc, driver):
                # As in `_fetch_raw`: drop this connection and every pooled one.
                pooled, self._pooled = self._pooled, None
                with suppress(Exception):
                    await greenlet_spawn(pooled.invalidate)
                await engine.dispose()
            raise
        return records

    async def _release_pooled(self) -> None:
        pooled, self._pooled = self._pooled, None
        if pooled is not None:
            await greenlet_spawn(pooled.close)

    async def _fetch_raw(self, session: AsyncSession, sql: str, params: tuple[Any, ...]) -> list[Any]:
        driver: Any = self._driver if self._driver_of is session else None
        if driver is None:
            # The session keeps this connection until it commits, rolls back or closes (each of
            # which forgets it here), so the request's later raw reads need not ask SQLAlchemy.
            connection = await session.connection()
            driver = (await connection.get_raw_connection()).driver_connection
            self._driver, self._driver_of = driver, session
        try:
            records: list[Any] = await driver.fetch(sql, *params)
        except Exception as exc:
            if _driver_dead(exc, driver):
                # What SQLAlchemy does when its own statements meet a dead connection: drop it
                # and every pooled one (a database restart killed them all), so that only this
                # request fails.
                self._forget_driver()
                connection = await session.connection()
                with suppress(Exception):
                    await connection.invalidate()
                await connection.engine.dispose()
            raise
        return records

    def _forget_driver(self) -> None:
        self._driver, self._driver_of = None, None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits once at the end, rolls back on error, then runs after-commit hooks."""
        async with self.lock:
            self._may_use_replica = False
            await self._leave_replica(None)
            await self._release_pooled()
            session = self.session
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                self._after_commit.clear()
                raise
            finally:
                self._forget_driver()  # the session gave its connection back
            if self._router is not None and self._member is not None:
                await self._router.remember_write(self._member, session)
        hooks, self._after_commit = self._after_commit, []
        for hook in hooks:
            await hook()

    def after_commit(self, hook: AfterCommit) -> None:
        """Run `hook` once the current transaction has committed (e.g. publish an event)."""
        self._after_commit.append(hook)

    async def close(self) -> None:
        self._replica = None
        self._forget_driver()
        await self._release_pooled()
        if self._session is not None:
            await self._session.close()
            self._session = None


def _replica_broken(exc: BaseException) -> bool:
    """True when a replica's connection (not the statement) failed."""
    if isinstance(exc, DBAPIError):
        cause = exc.orig.__cause__ if exc.orig is not None else None
        return exc.connection_invalidated or not isinstance(cause, Exception) or _connection_broken(cause)
    return isinstance(exc, Exception) and _connection_broken(exc)
