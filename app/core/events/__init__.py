"""Events hub: fan-out of live events to GraphQL subscriptions.

`async with hub.subscribe("slots") as sub: async for message in sub: ...` and
`await hub.publish("slots", {"kind": "PUBLISHED", "slot_id": 1})`. In-process by default;
through Redis pub/sub when a Redis URL is configured, so every instance sees every event.
"""

from __future__ import annotations

from typing import Any

from app.core.events.base import (
    EventHub,
    EventSink,
    HubClosed,
    HubError,
    HubUnavailable,
    SubscriberTooSlow,
    Subscription,
)
from app.core.events.buffer import EventBuffer
from app.core.events.cluster_hub import ClusterHub
from app.core.events.memory import InProcessHub
from app.core.events.redis_hub import RedisHub
from app.core.redis_client import is_cluster_url

__all__ = [
    "ClusterHub",
    "EventBuffer",
    "EventHub",
    "EventSink",
    "HubClosed",
    "HubError",
    "HubUnavailable",
    "InProcessHub",
    "RedisHub",
    "SubscriberTooSlow",
    "Subscription",
    "create_hub",
]


def create_hub(redis_url: str | None, *, queue_size: int = 100, **redis_options: Any) -> EventHub:
    """Build the hub for this configuration: InProcessHub without a Redis URL, else RedisHub
    (with `redis_options`, e.g. `publish_timeout`, `raise_on_publish_failure`).

    The hub still has to be started (`await hub.start()`) and stopped by the app's lifespan.
    """
    if redis_url is None:
        return InProcessHub(queue_size=queue_size)
    if is_cluster_url(redis_url):  # sharded pub/sub, one connection per node
        return ClusterHub(redis_url, queue_size=queue_size, **redis_options)
    return RedisHub(redis_url, queue_size=queue_size, **redis_options)
