"""Fixed-window rate limits: in Redis when configured (shared by all instances), else in-process."""

from __future__ import annotations

import time
from typing import Protocol

from redis.asyncio import Redis


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


class RedisRateLimiter:
    """INCR + TTL in one round trip (EXPIRE only on a new key); all instances share counters."""

    def __init__(self, redis: Redis, prefix: str = "ratelimit:") -> None:
        self.redis = redis
        self.prefix = prefix

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        full_key = self.prefix + key
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(full_key)
            pipe.ttl(full_key)
            count, ttl = await pipe.execute()
        if int(ttl) < 0:  # new key (or one that lost its expiry): start the window now
            await self.redis.expire(full_key, window_seconds)
            ttl = window_seconds
        return max(1, int(ttl)) if int(count) > limit else None
