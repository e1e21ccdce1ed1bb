"""Events, rate limits and the app on a real 3-primary Redis Cluster that these tests start."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import redis

from app.core.clock import Clock
from app.core.events import ClusterHub, create_hub
from app.core.ratelimit import RedisRateLimiter
from app.core.redis_client import redis_client
from app.http.factory import create_app
from tests.conftest import make_settings
from tests.helpers import GraphQLClient
from tests.scaleout.redis_servers import Server, redis_cluster

LOG_IN = "mutation($e: String!, $p: String!) { logIn(input: {email: $e, password: $p}) { accessToken } }"


@pytest.fixture(scope="module")
def cluster() -> Iterator[list[Server]]:
    with redis_cluster() as servers:
        yield servers


@pytest.fixture
def cluster_url(cluster: list[Server]) -> str:
    return "redis+cluster://" + ",".join(f"127.0.0.1:{server.port}" for server in cluster[:2])


def _owner(cluster: list[Server], key: str) -> int:
    """The port of the primary that owns `key`'s slot."""
    client = redis.RedisCluster(host="127.0.0.1", port=cluster[0].port)
    try:
        node = client.get_node_from_key(key)  # type: ignore[no-untyped-call]
        assert node is not None
        return int(node.port)
    finally:
        client.close()


async def test_events_use_sharded_pub_sub_on_every_node(cluster: list[Server], cluster_url: str) -> None:
    prefix = f"test-{secrets.token_hex(4)}:"
    channels = [f"{prefix}interview:{n}" for n in range(12)]
    receiver, sender = create_hub(cluster_url), create_hub(cluster_url)
    assert isinstance(receiver, ClusterHub)
    await receiver.start()
    await sender.start()
    try:
        async with contextlib.AsyncExitStack() as stack:
            subscriptions = [await stack.enter_async_context(receiver.subscribe(c)) for c in channels]
            owners = {_owner(cluster, channel) for channel in channels}
            assert len(owners) == 3  # the channels spread over all three shards
            for port in owners:
                node = redis.Redis(port=port)
                counts = dict(node.execute_command("PUBSUB SHARDNUMSUB", *channels))  # type: ignore[no-untyped-call]
                # Each shard holds exactly the subscriptions of its own channels (sharded pub/sub).
                assert {c.decode() for c, n in counts.items() if n} == {
                    c for c in channels if _owner(cluster, c) == port
                }
            for index, channel in enumerate(channels):
                await sender.publish(channel, {"n": index})
            for index, subscription in enumerate(subscriptions):
                assert await asyncio.wait_for(anext(aiter(subscription)), 5) == {"n": index}
            assert receiver.connected
    finally:
        await receiver.stop()
        await sender.stop()


async def test_rate_limits_are_shared_and_keyed_by_hash_tag(cluster: list[Server], cluster_url: str) -> None:
    clients = [redis_client(cluster_url, timeout=1, health_check_interval=5) for _ in range(2)]
    limiters = [
        RedisRateLimiter(client, prefix=f"test-{secrets.token_hex(4)}:ratelimit:") for client in clients
    ]
    limiters[1].prefix = limiters[0].prefix
    try:
        key = "login:email:someone@example.com"
        results = [await limiters[n % 2].hit(key, 3, 60) for n in range(5)]
        assert results[:3] == [None, None, None]
        assert results[3] is not None
        assert 1 <= results[3] <= 60
        full_key = limiters[0].full_key(key)
        assert full_key.endswith("{" + key + "}")
        node = redis.Redis(port=_owner(cluster, key))  # the slot is the hash tag's
        assert int(node.get(full_key) or 0) == 5
        assert 0 < node.ttl(full_key) <= 60
    finally:
        for client in clients:
            await client.aclose()


@pytest.fixture
async def cluster_app(database_url: str, cluster_url: str) -> AsyncIterator[GraphQLClient]:
    settings = make_settings(database_url, cluster_url, rate_limit_login_per_email=3)
    app = create_app(settings, clock=Clock())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield GraphQLClient(http)


async def test_the_app_runs_on_the_cluster(cluster_app: GraphQLClient) -> None:
    member = await cluster_app.sign_up("clustered")
    variables = {"e": member.email, "p": member.password}
    for _ in range(3):
        await cluster_app.data(LOG_IN, variables)
    assert await cluster_app.error_code(LOG_IN, variables) == "RATE_LIMITED"
    assert (await cluster_app.data("query { me { displayName } }", token=member.access_token))["me"]
