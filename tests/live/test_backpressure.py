"""A subscriber that never reads cannot make the server buffer without bound."""

from __future__ import annotations

import asyncio
import json
import socket as socket_module
from datetime import UTC, datetime

import pytest
import websockets
from redis.asyncio import Redis

from app.core.events import InProcessHub, RedisHub, SubscriberTooSlow
from resolvers.unit_of_work import Services
from tests.helpers import GraphQLClient, db_id
from tests.live.support import NOTIFICATION_ADDED, TRANSPORT_WS
from tests.live.test_websockets import ws_base  # noqa: F401  # the in-process server fixture


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_hub_drops_a_subscriber_that_never_reads(backend: str, redis_url: str) -> None:
    hub = InProcessHub(queue_size=50) if backend == "memory" else RedisHub(redis_url, queue_size=50)
    await hub.start()
    try:
        async with hub.subscribe("bp:slow") as slow, hub.subscribe("bp:slow") as fast:
            received = 0

            async def consume() -> None:
                nonlocal received
                async for _ in fast:
                    received += 1
                    if received == 2000:
                        return

            consumer = asyncio.create_task(consume())
            for i in range(2000):
                await hub.publish("bp:slow", {"n": i, "pad": "x" * 200})
                if i % 50 == 0:
                    await asyncio.sleep(0)  # let the consumer keep up, as a reading client would
                assert slow.pending <= 50
            await asyncio.wait_for(consumer, 10)
            assert received == 2000
            assert slow.ended
            with pytest.raises(SubscriberTooSlow):
                await anext(slow)
    finally:
        await hub.stop()


async def test_websocket_that_stops_reading_is_dropped_not_buffered(
    ws_base: str,  # noqa: F811
    committing_client: GraphQLClient,
    app_state: Services,
    redis_url: str,
) -> None:
    member = await committing_client.sign_up("sleepy")
    # max_queue=1: the client library stops reading the TCP socket, so the server's sends back up.
    # A fixed small receive buffer: loopback autotuning would otherwise absorb up to 32 MB here.
    raw = socket_module.socket()
    raw.setsockopt(socket_module.SOL_SOCKET, socket_module.SO_RCVBUF, 65536)
    port = int(ws_base.rsplit(":", 1)[1].split("/")[0])
    raw.connect(("127.0.0.1", port))
    raw.setblocking(False)
    socket = await websockets.connect(
        ws_base,
        sock=raw,
        subprotocols=[TRANSPORT_WS],  # type: ignore[list-item]
        max_queue=1,
        compression=None,
    )
    await socket.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {member.access_token}"}})
    )
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": NOTIFICATION_ADDED}}))
    await asyncio.sleep(0.3)
    channel = app_state.channels.notifications(db_id(member.id))
    # 5,000 events of 4 KB (20 MB): more than the loopback socket buffers can hold.
    total = 5_000
    event = {
        "kind": "POINTS_CHANGED",
        "payload": {"pad": "y" * 4000},
        "created_at": datetime.now(UTC).isoformat(),
    }
    async with Redis.from_url(redis_url) as redis, redis.pipeline(transaction=False) as pipe:
        for i in range(total):
            pipe.publish(channel, json.dumps({**event, "id": i + 1}))
        await pipe.execute()
    # Now read everything the server kept for us: far fewer than published, then a coded error.
    delivered, error = 0, None
    while error is None:
        try:
            message = json.loads(await asyncio.wait_for(socket.recv(), 10))
        except TimeoutError:
            raise AssertionError(f"delivered {delivered}") from None
        if message["type"] == "next" and message["payload"].get("errors"):
            error = message["payload"]["errors"][0]["extensions"]["code"]
        elif message["type"] == "next":
            delivered += 1
    assert error == "SUBSCRIBER_TOO_SLOW"
    assert delivered < total
    await socket.close()
