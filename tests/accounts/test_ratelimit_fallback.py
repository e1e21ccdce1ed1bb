"""Rate limits fall back to per-process counters while Redis does not answer (app/core/ratelimit.py)."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from prometheus_client import REGISTRY
from redis.exceptions import ConnectionError as RedisConnectionError

from app.core.ratelimit import FallbackRateLimiter, MemoryRateLimiter


def fallbacks_total() -> float:
    return REGISTRY.get_sample_value("mockinterview_ratelimit_fallbacks_total") or 0.0


class FlakyLimiter:
    """A primary that fails (`mode` "refuse") or hangs ("hang") until `mode` is "up"."""

    def __init__(self) -> None:
        self.mode = "up"
        self.calls = 0
        self.inner = MemoryRateLimiter()

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        self.calls += 1
        if self.mode == "refuse":
            raise RedisConnectionError("Connection refused")
        if self.mode == "hang":
            await asyncio.sleep(3600)
        return await self.inner.hit(key, limit, window_seconds)


async def test_falls_back_while_the_primary_fails_and_returns_when_it_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    primary = FlakyLimiter()
    limiter = FallbackRateLimiter(primary, MemoryRateLimiter(), timeout=0.05, retry_interval=0.2)
    assert await limiter.hit("k", 3, 60) is None
    before = fallbacks_total()

    primary.mode = "refuse"
    with caplog.at_level(logging.INFO, logger="mockinterview.ratelimit"):
        results = [await limiter.hit("k", 3, 60) for _ in range(20)]
        # Still limited, by this process's counters.
        assert results[:3] == [None, None, None]
        assert all(isinstance(r, int) and r >= 1 for r in results[3:])
        assert limiter.degraded
        assert primary.calls <= 3  # one failed call, then one probe per retry interval at most

        await asyncio.sleep(0.25)
        primary.mode = "up"
        assert await limiter.hit("k2", 3, 60) is None  # the probe succeeds
        assert not limiter.degraded
        calls = primary.calls
        await limiter.hit("k2", 3, 60)
        assert primary.calls == calls + 1
    messages = [r.getMessage() for r in caplog.records if r.name == "mockinterview.ratelimit"]
    assert len([m for m in messages if "did not answer" in m]) == 1, messages
    assert len([m for m in messages if "answers again" in m]) == 1, messages
    assert fallbacks_total() - before == 20
    assert limiter.fallbacks == 20


async def test_a_hung_primary_costs_at_most_the_timeout() -> None:
    primary = FlakyLimiter()
    primary.mode = "hang"
    limiter = FallbackRateLimiter(primary, MemoryRateLimiter(), timeout=0.1, retry_interval=10)
    started = time.monotonic()
    assert await limiter.hit("k", 5, 60) is None
    assert time.monotonic() - started < 0.5
    started = time.monotonic()
    for _ in range(50):
        await limiter.hit("k", 5, 60)
    assert time.monotonic() - started < 0.1  # no more waiting until the next probe
    assert primary.calls == 1
