"""The events hub contract shared by both backends, and the per-subscriber queue."""

from __future__ import annotations

import asyncio
from collections import deque
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, Self

import orjson


class HubError(Exception):
    """Base class of the events hub errors."""


class HubClosed(HubError):
    """The hub is not running: it was never started, or it was stopped."""


class HubUnavailable(HubError):
    """Redis could not be reached in time (start, or a subscribe while Redis is down)."""


class SubscriberTooSlow(HubError):
    """Raised from a subscription's iteration after it was dropped for falling behind."""


class Subscription:
    """One local subscriber of one channel: an async iterator of messages (`async for`).

    Messages are shared by all local subscribers of the channel: treat them as read-only.

    Iteration stops cleanly (StopAsyncIteration) when the `subscribe()` context exits, when
    `close_channel()` ends the channel, or when the hub stops. When a message arrives while
    `queue_size` messages are already waiting unread, the subscriber is dropped: its buffered
    messages are discarded and the next iteration raises `SubscriberTooSlow` (it has missed
    messages and must re-fetch).
    """

    def __init__(self, channel: str, queue_size: int) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.channel = channel
        self._queue_size = queue_size
        self._buffer: deque[dict[str, Any]] = deque()
        self._wakeup = asyncio.Event()
        self._ended = False
        self._error: HubError | None = None

    @property
    def pending(self) -> int:
        """Number of messages received and not yet consumed."""
        return len(self._buffer)

    @property
    def ended(self) -> bool:
        """True once the subscription was closed, dropped or its hub stopped."""
        return self._ended

    def deliver(self, message: dict[str, Any]) -> bool:
        """Queue `message` (called by hub backends); False if this subscriber is gone."""
        if self._ended:
            return False
        if len(self._buffer) >= self._queue_size:
            self.end(SubscriberTooSlow(f"subscriber of {self.channel!r} fell behind; dropped"))
            return False
        self._buffer.append(message)
        self._wakeup.set()
        return True

    def end(self, error: HubError | None = None) -> None:
        """End the iteration, with `error` raised to the consumer if given; idempotent."""
        if self._ended:
            return
        self._ended = True
        self._error = error
        self._buffer.clear()
        self._wakeup.set()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while True:
            if self._ended:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            if self._buffer:
                return self._buffer.popleft()
            self._wakeup.clear()
            await self._wakeup.wait()


class EventSink(Protocol):
    """Where domain operations send events once their transaction has committed."""

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Send a JSON-serialisable `message` to every subscriber of `channel`."""
        ...


class EventHub(EventSink, Protocol):
    """Fan-out of JSON messages to live subscriptions, in this process or through Redis."""

    @property
    def connected(self) -> bool:
        """True while events published elsewhere are known to arrive (always, in process)."""
        ...

    @property
    def reconnects(self) -> int:
        """How many times the hub reconnected; events published meanwhile were lost."""
        ...

    async def start(self) -> None:
        """Get ready to publish and subscribe (RedisHub: returns once connected)."""
        ...

    async def stop(self) -> None:
        """Close everything; live subscriptions stop iterating. Final: no restart."""
        ...

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Send a JSON-serialisable `message` to every subscriber of `channel`."""
        ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        """Context manager yielding a Subscription that receives every later publish."""
        ...

    def close_channel(self, channel: str) -> None:
        """End all local subscriptions of `channel` (e.g. a blocked user's live feeds)."""
        ...


def encode(message: dict[str, Any]) -> bytes:
    """Serialise a message; raises TypeError when it is not a JSON-serialisable dict."""
    if not isinstance(message, dict):
        raise TypeError(f"event message must be a dict, not {type(message).__name__}")
    return orjson.dumps(message)


def decode(payload: bytes | str) -> dict[str, Any]:
    """Parse a payload produced by `encode`; raises ValueError on anything else."""
    message = orjson.loads(payload)
    if not isinstance(message, dict):
        raise ValueError("event payload is not a JSON object")
    return message
