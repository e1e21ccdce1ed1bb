"""In-process events hub: the embedded single-instance default (no Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from app.core.events.base import HubClosed, Subscription, decode, encode


class InProcessHub:
    """Delivers published messages to the subscribers of this process only."""

    def __init__(self, *, queue_size: int = 100) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._queue_size = queue_size
        self._channels: dict[str, set[Subscription]] = {}
        self._state: Literal["new", "running", "stopped"] = "new"
        self.reconnects = 0  # nothing to reconnect to

    @property
    def connected(self) -> bool:
        return self._state == "running"

    async def start(self) -> None:
        """Mark the hub running; idempotent. A stopped hub cannot be started again."""
        if self._state == "stopped":
            raise HubClosed("events hub was stopped")
        self._state = "running"

    async def stop(self) -> None:
        """End every live subscription; later publish/subscribe raise HubClosed."""
        self._state = "stopped"
        channels, self._channels = self._channels, {}
        for subscribers in channels.values():
            for sub in subscribers:
                sub.end()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Deliver `message` to the current subscribers of `channel`."""
        self._check_running()
        # Round-trip through JSON like the Redis backend does, so both reject and copy alike.
        delivered = decode(encode(message))
        subscribers = self._channels.get(channel)
        if subscribers:
            for sub in list(subscribers):
                if not sub.deliver(delivered):
                    self._forget(channel, sub)
        # Let consumers run: a burst of publishes must not overflow subscribers that keep up.
        await asyncio.sleep(0)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        """Yield a Subscription receiving every message published after entry."""
        self._check_running()
        sub = Subscription(channel, self._queue_size)
        self._channels.setdefault(channel, set()).add(sub)
        try:
            yield sub
        finally:
            sub.end()
            self._forget(channel, sub)

    def close_channel(self, channel: str) -> None:
        """End all subscriptions of `channel`; their iterations stop."""
        for sub in self._channels.pop(channel, set()):
            sub.end()

    def subscriber_count(self, channel: str) -> int:
        """Number of live subscriptions of `channel` in this process."""
        return len(self._channels.get(channel, ()))

    def _check_running(self) -> None:
        if self._state != "running":
            raise HubClosed(f"events hub is not running ({self._state})")

    def _forget(self, channel: str, sub: Subscription) -> None:
        subscribers = self._channels.get(channel)
        if subscribers is None:
            return
        subscribers.discard(sub)
        if not subscribers:
            del self._channels[channel]
