"""A hub wrapper that counts published and delivered events for /metrics."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from app.core.events.base import EventHub, Subscription
from app.core.metrics import record_event_delivered, record_event_published

_ID_SEGMENT = re.compile(r"^\d+$")


def channel_kind(channel: str, prefix: str) -> str:
    """A low-cardinality label: `mi:interview:7:chat` → `interview:chat`."""
    name = channel.removeprefix(prefix)
    return ":".join(part for part in name.split(":") if not _ID_SEGMENT.match(part)) or "other"


class CountingSubscription:
    """Delegates to a Subscription and counts every message it yields."""

    def __init__(self, inner: Subscription, kind: str) -> None:
        self._inner = inner
        self._kind = kind

    def __aiter__(self) -> CountingSubscription:
        return self

    async def __anext__(self) -> dict[str, Any]:
        message = await self._inner.__anext__()
        record_event_delivered(self._kind)
        return message

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class InstrumentedHub:
    """Same interface as the wrapped hub; publish/deliver counts go to Prometheus."""

    def __init__(self, inner: EventHub, prefix: str) -> None:
        self._inner = inner
        self._prefix = prefix

    @property
    def connected(self) -> bool:
        return self._inner.connected

    @property
    def reconnects(self) -> int:
        return self._inner.reconnects

    async def start(self) -> None:
        await self._inner.start()

    async def stop(self) -> None:
        await self._inner.stop()

    def close_channel(self, channel: str) -> None:
        self._inner.close_channel(channel)

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self._inner.publish(channel, message)
        record_event_published(channel_kind(channel, self._prefix))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        async with self._inner.subscribe(channel) as subscription:
            # Duck-typed stand-in: every attribute but iteration is the real subscription's.
            yield cast(Subscription, CountingSubscription(subscription, channel_kind(channel, self._prefix)))
