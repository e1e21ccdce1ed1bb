"""The event buffer between committed changes and the hub (app/core/events/buffer.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from app.core.events import EventBuffer, HubClosed, HubUnavailable, InProcessHub


class RecordingHub:
    """A sink that records what it was sent; `failures` publishes raise first; `gate` holds them."""

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.failures = failures
        self.attempts = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        self.attempts += 1
        await self.gate.wait()
        if self.failures > 0:
            self.failures -= 1
            raise HubUnavailable("redis is down")
        self.sent.append((channel, message))


async def eventually(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_publish_returns_at_once_and_keeps_the_order() -> None:
    hub = RecordingHub()
    hub.gate.clear()  # the hub hangs, like a Redis that does not answer
    buffer = EventBuffer(hub, publish_timeout=5)
    buffer.start()
    started = time.monotonic()
    for n in range(100):
        await buffer.publish(f"c{n % 3}", {"n": n})
    assert time.monotonic() - started < 0.1
    assert buffer.pending == 100
    hub.gate.set()
    await eventually(lambda: len(hub.sent) == 100)
    assert [message["n"] for _, message in hub.sent] == list(range(100))
    assert buffer.published == 100
    assert buffer.pending == 0
    await buffer.stop(1)


async def test_failed_sends_are_retried_in_order() -> None:
    hub = RecordingHub(failures=3)
    buffer = EventBuffer(hub, retry_initial=0.01, retry_max=0.02)
    buffer.start()
    for n in range(5):
        await buffer.publish("slots", {"n": n})
    await eventually(lambda: len(hub.sent) == 5)
    assert [message["n"] for _, message in hub.sent] == [0, 1, 2, 3, 4]
    assert buffer.retries == 3
    assert buffer.dropped == 0
    await buffer.stop(1)


async def test_a_send_that_hangs_times_out_and_is_retried() -> None:
    hub = RecordingHub()
    hub.gate.clear()
    buffer = EventBuffer(hub, publish_timeout=0.05, retry_initial=0.01, retry_max=0.01)
    buffer.start()
    await buffer.publish("slots", {"n": 1})
    await eventually(lambda: buffer.retries >= 2)
    hub.gate.set()
    await eventually(lambda: hub.sent == [("slots", {"n": 1})])
    await buffer.stop(1)


async def test_a_full_buffer_drops_the_oldest_waiting_event() -> None:
    hub = RecordingHub()
    hub.gate.clear()
    buffer = EventBuffer(hub, max_size=3, publish_timeout=5)
    buffer.start()
    await buffer.publish("slots", {"n": 0})
    await eventually(lambda: hub.attempts == 1)  # n=0 is being sent: it stays
    for n in range(1, 6):
        await buffer.publish("slots", {"n": n})
    assert buffer.pending == 3
    assert buffer.dropped == 3
    hub.gate.set()
    await eventually(lambda: len(hub.sent) == 3)
    assert [message["n"] for _, message in hub.sent] == [0, 4, 5]
    await buffer.stop(1)


async def test_a_buffer_of_one_drops_the_newcomer_while_sending() -> None:
    hub = RecordingHub()
    hub.gate.clear()
    buffer = EventBuffer(hub, max_size=1, publish_timeout=5)
    buffer.start()
    await buffer.publish("slots", {"n": 0})
    await eventually(lambda: hub.attempts == 1)
    await buffer.publish("slots", {"n": 1})
    hub.gate.set()
    await eventually(lambda: len(hub.sent) == 1)
    assert hub.sent == [("slots", {"n": 0})]
    assert buffer.dropped == 1
    await buffer.stop(1)


async def test_stop_flushes_within_the_bound_then_drops() -> None:
    hub = RecordingHub()
    buffer = EventBuffer(hub)
    buffer.start()
    for n in range(10):
        await buffer.publish("slots", {"n": n})
    await buffer.stop(5)
    assert len(hub.sent) == 10
    with pytest.raises(HubClosed):
        await buffer.publish("slots", {"n": 11})

    stuck = RecordingHub(failures=1_000_000)
    buffer = EventBuffer(stuck, retry_initial=0.01, retry_max=0.01)
    buffer.start()
    await buffer.publish("slots", {"n": 0})
    await buffer.publish("slots", {"n": 1})
    started = time.monotonic()
    await buffer.stop(0.2)
    assert 0.15 < time.monotonic() - started < 2
    assert buffer.dropped == 2
    assert buffer.pending == 0


async def test_rejects_non_json_at_once_and_survives_a_broken_hub() -> None:
    class BrokenHub(RecordingHub):
        async def publish(self, channel: str, message: dict[str, Any]) -> None:
            if message.get("boom"):
                raise RuntimeError("bug")
            await super().publish(channel, message)

    hub = BrokenHub()
    buffer = EventBuffer(hub)
    buffer.start()
    with pytest.raises(TypeError):
        await buffer.publish("slots", {"when": object()})
    await buffer.publish("slots", {"boom": True})
    await buffer.publish("slots", {"n": 1})
    await eventually(lambda: hub.sent == [("slots", {"n": 1})])
    assert buffer.dropped == 1
    await buffer.stop(1)


async def test_in_process_hub_receives_buffered_events() -> None:
    hub = InProcessHub()
    await hub.start()
    buffer = EventBuffer(hub)
    buffer.start()
    try:
        async with hub.subscribe("slots") as sub:
            await buffer.publish("slots", {"n": 1})
            assert await asyncio.wait_for(anext(sub), 5) == {"n": 1}
    finally:
        await buffer.stop(1)
        await hub.stop()
