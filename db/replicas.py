"""Read replicas: which database a request's reads go to (docs/deployment.md, "Read replicas").

A `Db` that was allowed to (`Db.prefer_replica`, GraphQL requests over HTTP) reads from a streaming
replica the `ReadRouter` vouches for, and from the primary otherwise:

- a replica is usable while it is in recovery, its WAL receiver is streaming and it has replayed
  what it received or its last replayed commit is under `max_lag` seconds old; each replica is
  checked at most once per `check_interval` per process, and one that fails a check or a statement
  is skipped until the next check;
- read-your-writes: after a member's transaction commits, `pg_current_wal_lsn()` is remembered for
  the member (in Redis when configured, so every instance sees it) for `marker_ttl` seconds; that
  member's reads use a replica only once its `pg_last_wal_replay_lsn()` has reached it;
- a request whose access token is younger than `fresh_token` (= `max_lag`) seconds reads from the
  primary: sign-up, log-in and refresh write a session before the request knows the member.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

logger = logging.getLogger("mockinterview.replicas")

_STATUS = text(
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,"
    " pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn(),"
    " coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)::float8,"
    # `status` is NULL for roles without pg_read_all_stats: then a running WAL receiver must do.
    " EXISTS (SELECT FROM pg_stat_wal_receiver WHERE coalesce(status = 'streaming', pid IS NOT NULL))"
)
_CURRENT_LSN = text("SELECT pg_current_wal_lsn()::text")


def parse_lsn(value: str | None) -> int:
    """`16/B374D848` as a number (0 for NULL)."""
    if not value:
        return 0
    high, _, low = value.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


class WriteMarkers(Protocol):
    """Per member: the commit LSN their reads must see."""

    async def get(self, member: int) -> int | None: ...

    async def put(self, member: int, lsn: int) -> None: ...


class MemoryWriteMarkers:
    """This process's markers (one instance, or no Redis)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._markers: dict[int, tuple[int, float]] = {}

    async def get(self, member: int) -> int | None:
        entry = self._markers.get(member)
        if entry is None or entry[1] < time.monotonic():
            self._markers.pop(member, None)
            return None
        return entry[0]

    async def put(self, member: int, lsn: int) -> None:
        if len(self._markers) > 100_000:
            now = time.monotonic()
            self._markers = {key: value for key, value in self._markers.items() if value[1] > now}
        previous = self._markers.get(member, (0, 0.0))[0]
        self._markers[member] = (max(lsn, previous), time.monotonic() + self.ttl)


# Keeps the larger LSN when two instances write for one member at once.
_PUT_MAX = "local c = tonumber(redis.call('GET', KEYS[1]) or '0') if tonumber(ARGV[1]) > c then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 1"  # noqa: E501


class RedisWriteMarkers:
    """Markers every instance sees: `{prefix}rw:{member}` holds the LSN, expiring after `ttl`."""

    def __init__(self, redis: Any, prefix: str, ttl: float) -> None:
        self.redis = redis
        self.prefix = prefix + "rw:"
        self.ttl = ttl

    async def get(self, member: int) -> int | None:
        value = await self.redis.get(f"{self.prefix}{member}")
        return None if value is None else int(value)

    async def put(self, member: int, lsn: int) -> None:
        await self.redis.eval(_PUT_MAX, 1, f"{self.prefix}{member}", str(lsn), str(int(self.ttl * 1000)))


@dataclass(eq=False)
class Replica:
    """One replica's engine and what its last check found."""

    name: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    usable: bool = False
    replayed: int = 0
    checked_at: float = float("-inf")
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class ReadRouter:
    """Picks a replica for a read-only request, or None for the primary (see the module docstring)."""

    def __init__(
        self,
        replicas: list[Replica],
        markers: WriteMarkers,
        *,
        max_lag: float = 5.0,
        check_interval: float = 1.0,
        timeout: float = 1.0,
        fresh_token: float | None = None,
    ) -> None:
        self.replicas = replicas
        # Tokens this young read from the primary: their session may not be replicated yet.
        self.fresh_token = max_lag if fresh_token is None else fresh_token
        self.markers = markers
        self.max_lag = max_lag
        self.check_interval = check_interval
        self.timeout = timeout
        self._turn = itertools.count()

    async def reader(self, member: int | None, token_age: float | None) -> Replica | None:
        """The replica for a request of `member` (None: anonymous), or None for the primary."""
        if not self.replicas or (token_age is not None and token_age < self.fresh_token):
            return None
        needed = await self._marker(member)
        if needed is None:
            return None
        start = next(self._turn)
        for offset in range(len(self.replicas)):
            replica = self.replicas[(start + offset) % len(self.replicas)]
            if await self._usable(replica, needed):
                return replica
        return None

    async def remember_write(self, member: int, session: AsyncSession) -> None:
        """After `member`'s commit on the primary: their reads must see this LSN."""
        if not self.replicas:
            return
        try:
            lsn = parse_lsn((await session.execute(_CURRENT_LSN)).scalar_one())
            await self.markers.put(member, lsn)
        except Exception:  # the change is committed: never fail it now
            logger.warning("replicas: could not remember a write of member %s", member, exc_info=True)

    async def failed(self, replica: Replica) -> None:
        """A statement on `replica` met a broken connection: skip it until it passes a check."""
        replica.usable, replica.checked_at = False, time.monotonic()
        await replica.engine.dispose()

    async def _marker(self, member: int | None) -> int | None:
        """The LSN the member's reads need (0: none); None when unknown (then: primary)."""
        if member is None:
            return 0
        try:
            return await self.markers.get(member) or 0
        except (RedisError, OSError, TimeoutError):
            return None

    async def _usable(self, replica: Replica, needed: int) -> bool:
        if self._needs_check(replica, needed):
            async with replica.lock:
                if self._needs_check(replica, needed):
                    await self._check(replica)
        return replica.usable and replica.replayed >= needed

    def _needs_check(self, replica: Replica, needed: int) -> bool:
        """When the last check is old, or may be too old for this member's marker."""
        stale = time.monotonic() - replica.checked_at >= self.check_interval
        return stale or (replica.usable and replica.replayed < needed)

    async def _check(self, replica: Replica) -> None:
        try:
            async with asyncio.timeout(self.timeout), replica.engine.connect() as connection:
                row = (await connection.execute(_STATUS)).one()
        except Exception as exc:  # any failure: read from the primary meanwhile
            if replica.usable or replica.checked_at == float("-inf"):
                logger.warning("replicas: %s is unusable: %r", replica.name, exc)
            replica.usable, replica.checked_at = False, time.monotonic()
            return
        in_recovery, replayed, caught_up, age, streaming = row
        was = replica.usable
        replica.usable = bool(in_recovery and streaming and (caught_up or age < self.max_lag))
        replica.replayed, replica.checked_at = parse_lsn(replayed), time.monotonic()
        if was != replica.usable:
            logger.info("replicas: %s is %s", replica.name, "usable" if replica.usable else "lagging")


class RoutedSessionmaker(async_sessionmaker[AsyncSession]):
    """The primary's sessionmaker, carrying the router whose replicas a `Db` may read from."""

    router: ReadRouter | None = None
