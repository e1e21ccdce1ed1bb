"""Events hub on a Redis Cluster, with sharded pub/sub (Redis 7).

Classic PUBLISH in a cluster is copied to every node over the cluster bus; SPUBLISH goes only to the
node that owns the channel's hash slot, so pub/sub traffic scales with the shards. Publishes go
through the cluster client (`SPUBLISH`, routed by slot); subscriptions of a channel go to a `RedisHub`
(`sharded=True`: SSUBSCRIBE, one pub/sub connection) of the primary that owns its slot, made on
first use. Each node hub reconnects and resubscribes on its own, as `RedisHub` does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from app.core.events.base import HubClosed, HubUnavailable, Subscription, encode
from app.core.events.redis_hub import RedisHub
from app.core.redis_client import parse_ha_url, redis_client

logger = logging.getLogger(__name__)


class ClusterHub:
    """Same contract as `RedisHub` (see its docstring), on a `redis+cluster://` URL."""

    def __init__(
        self,
        url: str,
        *,
        queue_size: int = 100,
        channel_prefix: str = "",
        start_timeout: float = 10.0,
        publish_timeout: float = 1.0,
        health_check_interval: float = 10.0,
        raise_on_publish_failure: bool = False,
        **node_options: Any,
    ) -> None:
        target = parse_ha_url(url)
        if target is None or target.kind != "cluster":
            raise ValueError("ClusterHub needs a redis+cluster:// URL")
        self._url = url
        auth = ":".join(quote(part or "") for part in (target.username, target.password))
        self._auth = f"{auth}@" if target.password else ""
        self._start_timeout = start_timeout
        self._publish_timeout = publish_timeout
        self._health_check_interval = health_check_interval
        self._raise_on_publish_failure = raise_on_publish_failure
        self._node_options = {
            "queue_size": queue_size,
            "channel_prefix": channel_prefix,
            "health_check_interval": health_check_interval,
            "start_timeout": start_timeout,
            **node_options,
        }
        self._prefix = channel_prefix
        self._cluster: RedisCluster | None = None
        self._nodes: dict[str, RedisHub] = {}
        self._nodes_lock = asyncio.Lock()
        self._state = "new"
        self.dropped_publishes = 0

    @property
    def connected(self) -> bool:
        return self._state == "running" and all(hub.connected for hub in self._nodes.values())

    @property
    def reconnects(self) -> int:
        return sum(hub.reconnects for hub in self._nodes.values())

    async def start(self) -> None:
        if self._state == "stopped":
            raise HubClosed("events hub was stopped")
        if self._state == "running":
            return
        client: Any = redis_client(
            self._url, timeout=self._publish_timeout, health_check_interval=self._health_check_interval
        )
        self._cluster = client
        try:
            async with asyncio.timeout(self._start_timeout):
                await client.initialize()
        except (RedisError, OSError, TimeoutError) as exc:
            await client.aclose()
            self._state = "stopped"
            raise HubUnavailable(f"cannot connect to the Redis Cluster for events: {exc!r}") from exc
        self._state = "running"

    async def stop(self) -> None:
        if self._state == "stopped":
            return
        self._state = "stopped"
        nodes, self._nodes = list(self._nodes.values()), {}
        await asyncio.gather(*(hub.stop() for hub in nodes), return_exceptions=True)
        if self._cluster is not None:
            await self._cluster.aclose()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """SPUBLISH `message`; failures as `RedisHub.publish` (dropped, or HubUnavailable)."""
        self._check_running()
        payload = encode(message)
        assert self._cluster is not None
        try:
            async with asyncio.timeout(self._publish_timeout):
                await self._cluster.spublish(self._prefix + channel, payload)
        except (RedisError, OSError, TimeoutError) as exc:
            if self._raise_on_publish_failure:
                raise HubUnavailable(f"could not publish to {channel!r}: {exc!r}") from exc
            self.dropped_publishes += 1
            logger.warning("events: dropped a message for %r: %r", channel, exc)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        """A subscription on the node that owns `channel`'s slot (see `RedisHub.subscribe`)."""
        hub = await self._node_hub(self._prefix + channel)
        async with hub.subscribe(channel) as subscription:
            yield subscription

    def close_channel(self, channel: str) -> None:
        for hub in self._nodes.values():
            hub.close_channel(channel)

    def subscriber_count(self, channel: str) -> int:
        return sum(hub.subscriber_count(channel) for hub in self._nodes.values())

    def _check_running(self) -> None:
        if self._state != "running":
            raise HubClosed(f"events hub is not running ({self._state})")

    async def _node_hub(self, key: str) -> RedisHub:
        self._check_running()
        assert self._cluster is not None
        node = self._cluster.get_node_from_key(key)
        if node is None:
            raise HubUnavailable(f"no Redis Cluster node serves {key!r}")
        async with self._nodes_lock:
            hub = self._nodes.get(node.name)
            if hub is None:
                url = f"redis://{self._auth}{node.host}:{node.port}/0"
                hub = RedisHub(url, sharded=True, **self._node_options)
                await hub.start()
                self._nodes[node.name] = hub
        return hub
