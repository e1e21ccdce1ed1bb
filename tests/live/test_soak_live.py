"""A short run of `bench/soak_live.py`: chat subscribers that reconnect at random through two
instances while Redis is restarted lose and duplicate nothing (docs/product.md, rule 27)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench.soak_live import Options, soak
from db.migrate import upgrade
from tests import infra
from tests.live.test_events_hub import RedisProcess

pytestmark = pytest.mark.slow


async def test_short_soak_with_a_redis_restart_loses_and_duplicates_nothing(
    postgres_server: str, tmp_path: Path
) -> None:
    name = infra.fresh_database_name()
    url = await infra.create_database(postgres_server, name)
    redis = RedisProcess(tmp_path)
    try:
        await asyncio.to_thread(upgrade, url)
        redis.start()
        options = Options(
            seconds=40, restart_every=18, interviews=2, subscribers=6, rate=8, settle_seconds=20
        )
        report = await soak(url, redis, options)
    finally:
        redis.kill()
        await infra.drop_database(postgres_server, name)
    assert report.restarts >= 1, report.lines()
    assert report.sent > 100, report.lines()
    assert report.deliveries >= report.sent, report.lines()  # six followers of two chats
    assert report.ok(), report.lines()
