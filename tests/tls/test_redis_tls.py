"""Redis over TLS (`rediss://` with `ssl_ca_certs`): the rate limiter and the events hub work through a
redis-server that speaks only TLS, and a server whose certificate another CA signed is refused."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from app.core.events import HubUnavailable, create_hub
from app.core.ratelimit import RedisRateLimiter
from app.core.redis_client import redis_client
from tests.tls.ca import TestCA
from tests.tls.conftest import rediss_url


async def test_rate_limiter_counts_through_tls_redis(redis_tls_port: int, ca: TestCA) -> None:
    for host in ("127.0.0.1", "localhost"):  # the certificate names both; either is checked
        redis = redis_client(
            rediss_url(redis_tls_port, ca.cert_path, host), timeout=2, health_check_interval=5
        )
        try:
            limiter = RedisRateLimiter(redis, prefix=f"tls-{secrets.token_hex(4)}:")
            assert await limiter.hit("login:a@example.com", 2, 60) is None
            assert await limiter.hit("login:a@example.com", 2, 60) is None
            retry_after = await limiter.hit("login:a@example.com", 2, 60)  # over the limit
            assert retry_after is not None
            assert 0 < retry_after <= 60
        finally:
            await redis.aclose()


async def test_events_hub_publishes_and_receives_through_tls_redis(redis_tls_port: int, ca: TestCA) -> None:
    url = rediss_url(redis_tls_port, ca.cert_path)
    receiver, sender = create_hub(url), create_hub(url)
    await receiver.start()
    await sender.start()
    try:
        channel = f"tls-test:{secrets.token_hex(4)}"
        async with receiver.subscribe(channel) as subscription:
            await sender.publish(channel, {"kind": "PUBLISHED", "n": 1})
            message = await asyncio.wait_for(anext(aiter(subscription)), 5)
        assert message == {"kind": "PUBLISHED", "n": 1}
    finally:
        await sender.stop()
        await receiver.stop()


async def test_a_server_certificate_of_another_ca_is_refused(redis_tls_port: int, wrong_ca: TestCA) -> None:
    url = rediss_url(redis_tls_port, wrong_ca.cert_path)
    redis = redis_client(url, timeout=2, health_check_interval=5)
    try:
        with pytest.raises(RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            await redis.ping()
    finally:
        await redis.aclose()
    hub = create_hub(url, start_timeout=1.5)
    with pytest.raises(HubUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        await hub.start()


async def test_plain_redis_url_gets_no_answer_from_the_tls_port(redis_tls_port: int) -> None:
    redis = redis_client(f"redis://127.0.0.1:{redis_tls_port}/0", timeout=1, health_check_interval=5)
    try:
        with pytest.raises((RedisConnectionError, TimeoutError)):
            await redis.ping()
    finally:
        await redis.aclose()
