"""A Sentinel failover (primary killed, replica promoted) under a running app: a subscriber stays
subscribed and no request fails (rate limits and events ride it out). Real redis-server processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.applications import Starlette

from app.core.clock import Clock
from app.core.redis_client import parse_ha_url, redis_client
from app.http.factory import create_app
from resolvers.unit_of_work import Services
from tests.conftest import make_settings
from tests.helpers import GraphQLClient
from tests.scaleout.redis_servers import SentinelSetup, redis_sentinel

LOG_IN = "mutation($e: String!, $p: String!) { logIn(input: {email: $e, password: $p}) { accessToken } }"


@pytest.fixture(scope="module")
def sentinel() -> Iterator[SentinelSetup]:
    with redis_sentinel() as setup:
        yield setup


def test_sentinel_urls_parse() -> None:
    parsed = parse_ha_url("redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2/mymaster/2?sentinel_password=x")
    assert parsed is not None
    assert (parsed.kind, parsed.service, parsed.db, parsed.password) == ("sentinel", "mymaster", 2, "s3cret")
    assert parsed.nodes == [("10.0.0.1", 26379), ("10.0.0.2", 26379)]
    assert parsed.options == {"sentinel_password": "x"}
    assert parse_ha_url("redis://127.0.0.1:6379/0") is None
    with pytest.raises(ValueError, match="names the service"):
        parse_ha_url("redis+sentinel://127.0.0.1:26379")


async def test_commands_reach_the_primary_through_the_sentinels(sentinel: SentinelSetup) -> None:
    client = redis_client(sentinel.url, timeout=1, health_check_interval=5)
    try:
        await client.set("mi-sentinel-probe", "1")
        assert sentinel.primary.client().get("mi-sentinel-probe") == b"1"
    finally:
        await client.aclose()


@pytest.fixture
async def app(database_url: str, sentinel: SentinelSetup) -> AsyncIterator[Starlette]:
    settings = make_settings(database_url, sentinel.url, rate_limit_redis_retry_seconds=0.2)
    application = create_app(settings, clock=Clock())
    async with application.router.lifespan_context(application):
        yield application


async def _requests_until(client: GraphQLClient, stop: asyncio.Event, failures: list[str]) -> int:
    """logIn (a Redis rate-limit check each) over and over; returns how many ran."""
    member = await client.sign_up("sentinel")
    variables = {"e": member.email, "p": member.password}
    count = 0
    while not stop.is_set():
        result = await client.execute(LOG_IN, variables)
        if result.get("errors"):
            failures.append(str(result["errors"]))
        count += 1
        await asyncio.sleep(0.02)
    return count


async def test_a_failover_fails_no_request_and_keeps_subscribers(
    app: Starlette, sentinel: SentinelSetup
) -> None:
    services: Services = app.state.services
    channel = services.channels.board()
    old_primary = sentinel.primary_port()
    async with services.hub.subscribe(channel) as subscription:
        received = aiter(subscription)
        await services.hub.publish(channel, {"n": "before"})
        assert await asyncio.wait_for(anext(received), 5) == {"n": "before"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            failures: list[str] = []
            stop = asyncio.Event()
            load = asyncio.create_task(_requests_until(GraphQLClient(http), stop, failures))
            await asyncio.sleep(1)
            sentinel.primary.kill()
            killed_at = time.monotonic()
            while sentinel.primary_port() == old_primary:
                assert time.monotonic() - killed_at < 30, "no failover"
                await asyncio.sleep(0.1)
            failover_seconds = time.monotonic() - killed_at
            # Events reach the subscriber that stayed subscribed, through the promoted replica.
            await _published_until_received(services, channel, received)
            delivered_seconds = time.monotonic() - killed_at
            await asyncio.sleep(1)  # and requests go on after it
            stop.set()
            count = await load
        assert not failures, failures
        assert not getattr(services.rate_limiter, "degraded", True)  # counting in Redis again
        assert sentinel.primary_port() == sentinel.replica.port
        print(f"failover {failover_seconds:.1f} s, events after {delivered_seconds:.1f} s, {count} requests")
        assert delivered_seconds < failover_seconds + 10


async def _published_until_received(
    services: Services, channel: str, received: AsyncIterator[object]
) -> None:
    assert services.events is not None
    for attempt in range(100):
        await services.events.publish(channel, {"n": attempt})  # buffered and retried, as in the app
        try:
            message = await asyncio.wait_for(anext(received), 0.2)
        except TimeoutError:
            continue
        assert isinstance(message, dict)
        return
    raise AssertionError("no event after the failover")
