"""Fixed-window rate limits: in Redis when configured (shared by all instances), else in-process.

With Redis configured, `FallbackRateLimiter` counts in Redis while it answers and in this process
while it does not, so a Redis outage never fails a login.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.core.metrics import record_ratelimit_fallback

logger = logging.getLogger("mockinterview.ratelimit")


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        """Count one hit; return seconds to wait when `limit` is exceeded, else None."""
        ...


class MemoryRateLimiter:
    """Per-process counters; fine for the embedded single-instance default."""

    def __init__(self) -> None:
        self.windows: dict[str, tuple[int, float]] = {}

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        now = time.monotonic()
        count, reset_at = self.windows.get(key, (0, now + window_seconds))
        if now >= reset_at:
            count, reset_at = 0, now + window_seconds
        count += 1
        self.windows[key] = (count, reset_at)
        if len(self.windows) > 100_000:
            self.windows = {k: v for k, v in self.windows.items() if v[1] > now}
        return max(1, int(reset_at - now)) if count > limit else None


# INCR, and a window for a new key (or one that lost its expiry), in one atomic round trip.
_HIT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


class RedisRateLimiter:
    """One script per hit (INCR + TTL, EXPIRE when new); all instances share counters.

    The key is a hash tag (`mi:ratelimit:{login:ip:...}`) so that everything about one counter
    lives in one slot of a Redis Cluster."""

    def __init__(self, redis: Redis, prefix: str = "ratelimit:") -> None:
        self.redis = redis
        self.prefix = prefix

    def full_key(self, key: str) -> str:
        return f"{self.prefix}{{{key}}}"

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        result = self.redis.eval(_HIT, 1, self.full_key(key), str(window_seconds))
        count, ttl = await result
        return max(1, int(ttl)) if int(count) > limit else None


class FallbackRateLimiter:
    """Shared counters (`primary`, Redis) while they answer, per-process counters while they don't.

    A hit waits at most `timeout` seconds for the primary. After a failure hits go to `fallback`,
    and one hit per `retry_interval` seconds tries the primary again; the first that succeeds
    switches back. Each switch is logged once (not per request); every hit the fallback counts is
    counted in `mockinterview_ratelimit_fallbacks_total`. While degraded, each instance enforces
    the limits on its own share of the traffic.
    """

    def __init__(
        self,
        primary: RateLimiter,
        fallback: RateLimiter,
        *,
        timeout: float = 0.25,
        retry_interval: float = 1.0,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.fallbacks = 0
        self._down_since: float | None = None
        self._next_probe = 0.0

    @property
    def degraded(self) -> bool:
        """True while hits are counted in this process because the primary failed."""
        return self._down_since is not None

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        now = time.monotonic()
        if self._down_since is None or now >= self._next_probe:
            if self._down_since is not None:
                self._next_probe = now + self.retry_interval  # this hit is the probe
            try:
                async with asyncio.timeout(self.timeout):
                    retry_after = await self.primary.hit(key, limit, window_seconds)
            except (RedisError, OSError, TimeoutError) as exc:
                self._failed(exc, now)
            else:
                self._recovered(now)
                return retry_after
        self.fallbacks += 1
        record_ratelimit_fallback()
        return await self.fallback.hit(key, limit, window_seconds)

    def _failed(self, exc: BaseException, now: float) -> None:
        self._next_probe = now + self.retry_interval
        if self._down_since is None:
            self._down_since = now
            logger.warning(
                "rate limits: Redis did not answer (%r); counting in this process until it does", exc
            )

    def _recovered(self, now: float) -> None:
        if self._down_since is not None:
            logger.info(
                "rate limits: Redis answers again after %.1f s; shared counters resumed",
                now - self._down_since,
            )
            self._down_since = None
