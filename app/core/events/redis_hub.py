"""Events hub over Redis pub/sub: every instance of the API sees every publish.

One pub/sub connection per process carries the SUBSCRIBEs of all local subscribers; a reader
task fans messages out to bounded per-subscriber queues. When the connection drops, the reader
reconnects with capped exponential backoff and resubscribes every channel that still has local
subscribers, so their iterators keep going. Redis pub/sub is at-most-once: messages published
while the connection is down are lost, PostgreSQL stays the record and clients re-fetch.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections import Counter
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from app.core.events.base import HubClosed, HubUnavailable, Subscription, decode, encode
from app.core.redis_client import pubsub_pool, redis_client

logger = logging.getLogger(__name__)

# Errors that mean "this connection is unusable"; the reader reconnects after any of them.
_CONNECTION_ERRORS = (RedisError, OSError)


@dataclass(eq=False)
class _Channel:
    """Local state of one Redis channel with at least one local subscriber."""

    subscribers: set[Subscription] = field(default_factory=set)
    # Set once Redis confirmed the SUBSCRIBE on the current connection; cleared on disconnect.
    confirmed: asyncio.Event = field(default_factory=asyncio.Event)


class RedisHub:
    """Events hub backed by Redis pub/sub (see the module docstring).

    - A subscriber whose queue holds `queue_size` unread messages is dropped: its iteration
      raises SubscriberTooSlow; other subscribers are never blocked by it.
    - `publish()` while Redis is unreachable retries for up to `publish_timeout` seconds, then
      logs a warning and drops the message (counted in `dropped_publishes`) instead of raising:
      publishes follow a committed transaction, which must not be reported as failed. With
      `raise_on_publish_failure`, it makes one attempt (bounded by `publish_timeout`) and raises
      HubUnavailable instead, for a caller that retries itself (`app.core.events.buffer`).
    - The publishing connections are PINGed after `health_check_interval` idle seconds and a
      command on a connection that died (Redis restarted) is retried once on a new one.
    - `subscribe()` yields only after Redis confirmed the SUBSCRIBE, so a publish made right
      after entering the context is received; it raises HubUnavailable after
      `subscribe_timeout` seconds if Redis stays unreachable.
    - `channel_prefix` is prepended to every Redis channel name (pub/sub ignores db numbers).
    - `dropped_publishes` and `reconnects` (connection attempts after the first) are counters
      for metrics.
    """

    def __init__(
        self,
        url: str,
        *,
        queue_size: int = 100,
        channel_prefix: str = "",
        start_timeout: float = 10.0,
        subscribe_timeout: float = 10.0,
        publish_timeout: float = 1.0,
        backoff_initial: float = 0.1,
        backoff_max: float = 2.0,
        health_check_interval: float = 10.0,
        raise_on_publish_failure: bool = False,
        sharded: bool = False,
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._url = url
        self._queue_size = queue_size
        self._prefix = channel_prefix
        self._start_timeout = start_timeout
        self._subscribe_timeout = subscribe_timeout
        self._publish_timeout = publish_timeout
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._health_check_interval = health_check_interval
        self._raise_on_publish_failure = raise_on_publish_failure
        # Sharded pub/sub (Redis 7) on one node of a Redis Cluster (app/core/events/cluster_hub.py).
        self._sharded = sharded
        self._subscribe, self._unsubscribe = (
            ("SSUBSCRIBE", "SUNSUBSCRIBE") if sharded else ("SUBSCRIBE", "UNSUBSCRIBE")
        )

        self._state: Literal["new", "running", "stopped"] = "new"
        self._registry: dict[str, _Channel] = {}
        # SUBSCRIBEs written on the current connection and not yet answered, per Redis channel.
        # Redis answers in order, so a channel is confirmed when its count drops back to zero.
        self._unconfirmed: Counter[str] = Counter()
        self._conn: AbstractConnection | None = None
        self._write_lock = asyncio.Lock()
        self._connected = asyncio.Event()
        self._last_rx = 0.0
        self._last_error: BaseException | None = None
        self._pool: ConnectionPool | None = None
        self._publisher: Redis | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.dropped_publishes = 0
        self.reconnects = 0

    @property
    def connected(self) -> bool:
        """True while the pub/sub connection to Redis is up."""
        return self._connected.is_set()

    async def start(self) -> None:
        """Connect to Redis; returns once the pub/sub connection is up.

        Raises HubUnavailable if Redis cannot be reached within `start_timeout` seconds
        (the hub is then stopped), HubClosed if the hub was stopped before.
        """
        if self._state == "stopped":
            raise HubClosed("events hub was stopped")
        if self._state == "running":
            return
        self._state = "running"
        self._pool = pubsub_pool(self._url, client_name="mockinterview-events")
        self._publisher = redis_client(
            self._url,
            timeout=self._publish_timeout,
            health_check_interval=self._health_check_interval,
            client_name="mockinterview-publish",
        )
        self._supervisor = asyncio.create_task(self._supervise(), name="events-hub-redis")
        try:
            await asyncio.wait_for(self._connected.wait(), self._start_timeout)
        except TimeoutError:
            error = self._last_error
            await self.stop()
            raise HubUnavailable(f"cannot connect to Redis for events: {error}") from error

    async def stop(self) -> None:
        """Disconnect and end every live subscription; later calls raise HubClosed."""
        if self._state == "stopped":
            return
        self._state = "stopped"
        registry, self._registry = self._registry, {}
        for channel in registry.values():
            for sub in channel.subscribers:
                sub.end()
            channel.confirmed.set()
        tasks = [*self._tasks, *([self._supervisor] if self._supervisor else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._conn = None
        self._connected.clear()
        if self._publisher is not None:
            await self._publisher.aclose()
        if self._pool is not None:
            await self._pool.disconnect()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Publish `message` to `channel` on Redis (all instances).

        Raises TypeError for a message that is not a JSON-serialisable dict, HubClosed when
        the hub is not running. If Redis stays unreachable for `publish_timeout` seconds the
        message is logged and dropped (pub/sub is at-most-once; PostgreSQL is the record), or
        HubUnavailable is raised with `raise_on_publish_failure`.
        """
        self._check_running()
        payload = encode(message)
        assert self._publisher is not None
        if self._raise_on_publish_failure:
            try:
                async with asyncio.timeout(self._publish_timeout):
                    await self._publisher.publish(self._prefix + channel, payload)
            except (*_CONNECTION_ERRORS, TimeoutError) as exc:
                raise HubUnavailable(f"could not publish to {channel!r}: {exc!r}") from exc
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._publish_timeout
        delay = 0.05
        while True:
            remaining = deadline - loop.time()
            try:
                async with asyncio.timeout(max(remaining, 0.01)):
                    await self._publisher.publish(self._prefix + channel, payload)
                return
            except _CONNECTION_ERRORS as exc:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    self.dropped_publishes += 1
                    logger.warning("events: dropped a message for %r: %r", channel, exc)
                    return
                await asyncio.sleep(min(delay, remaining))
                delay *= 2

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        """Yield a Subscription once Redis confirmed the channel's SUBSCRIBE.

        Raises HubUnavailable if Redis cannot confirm within `subscribe_timeout` seconds.
        """
        self._check_running()
        key = self._prefix + channel
        sub = Subscription(channel, self._queue_size)
        state = self._registry.get(key)
        first = state is None
        if state is None:
            state = self._registry[key] = _Channel()
        state.subscribers.add(sub)
        try:
            if first:
                await self._request_subscribe(key)
            if not state.confirmed.is_set():
                try:
                    await asyncio.wait_for(state.confirmed.wait(), self._subscribe_timeout)
                except TimeoutError:
                    raise HubUnavailable(
                        f"Redis did not confirm the subscription to {channel!r}"
                    ) from self._last_error
            yield sub
        finally:
            sub.end()
            self._forget(key, sub)

    def close_channel(self, channel: str) -> None:
        """End all local subscriptions of `channel`; their iterations stop."""
        key = self._prefix + channel
        state = self._registry.pop(key, None)
        if state is None:
            return
        for sub in state.subscribers:
            sub.end()
        state.confirmed.set()
        self._spawn(self._request_unsubscribe(key))

    def subscriber_count(self, channel: str) -> int:
        """Number of live subscriptions of `channel` in this process."""
        state = self._registry.get(self._prefix + channel)
        return len(state.subscribers) if state else 0

    # -- subscription bookkeeping ------------------------------------------------------------

    def _check_running(self) -> None:
        if self._state != "running":
            raise HubClosed(f"events hub is not running ({self._state})")

    def _forget(self, key: str, sub: Subscription) -> None:
        """Remove `sub`; UNSUBSCRIBE in the background when it was the channel's last."""
        state = self._registry.get(key)
        if state is None or sub not in state.subscribers:
            return
        state.subscribers.discard(sub)
        if not state.subscribers:
            del self._registry[key]
            self._spawn(self._request_unsubscribe(key))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        if self._state != "running":
            coro.close()
            return
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _request_subscribe(self, key: str) -> None:
        async with self._write_lock:
            conn = self._conn
            # Without a live connection there is nothing to do: (re)connecting subscribes
            # every channel in the registry.
            if conn is None or not conn.is_connected or key not in self._registry:
                return
            self._unconfirmed[key] += 1
            try:
                await conn.send_command(self._subscribe, key, check_health=False)
            except _CONNECTION_ERRORS as exc:
                logger.debug("events: SUBSCRIBE %r failed, reader will reconnect: %r", key, exc)

    async def _request_unsubscribe(self, key: str) -> None:
        async with self._write_lock:
            conn = self._conn
            # A subscriber may have come back while this waited for the lock.
            if conn is None or not conn.is_connected or key in self._registry:
                return
            try:
                await conn.send_command(self._unsubscribe, key, check_health=False)
            except _CONNECTION_ERRORS as exc:
                logger.debug("events: UNSUBSCRIBE %r failed: %r", key, exc)

    # -- the reader --------------------------------------------------------------------------

    async def _supervise(self) -> None:
        """Keep one pub/sub connection up, reconnecting with capped exponential backoff."""
        assert self._pool is not None
        loop = asyncio.get_running_loop()
        delay = self._backoff_initial
        while True:
            conn = self._pool.connection_class(**self._pool.connection_kwargs)
            connected_at: float | None = None
            try:
                await conn.connect()  # type: ignore[no-untyped-call]  # unannotated in redis-py
                await self._attach(conn)
                connected_at = loop.time()
                await self._run_session(conn)
            except _CONNECTION_ERRORS as exc:
                self._last_error = exc
                logger.warning("events: Redis pub/sub connection lost or refused: %r", exc)
            except Exception as exc:
                # Keep the reader alive whatever happens; a dead reader silently ends all feeds.
                self._last_error = exc
                logger.exception("events: unexpected error in the Redis reader")
            finally:
                await self._detach(conn)
            if connected_at is not None and loop.time() - connected_at > self._backoff_max:
                delay = self._backoff_initial
            # Jitter spreads the reconnects of many instances after a Redis restart.
            await asyncio.sleep(delay * (0.5 + random.random() / 2))  # noqa: S311
            delay = min(delay * 2, self._backoff_max)
            self.reconnects += 1

    async def _attach(self, conn: AbstractConnection) -> None:
        """Make `conn` current and SUBSCRIBE every channel that has local subscribers."""
        async with self._write_lock:
            self._unconfirmed.clear()
            keys = list(self._registry)
            if keys:
                self._unconfirmed.update(keys)
                # One SSUBSCRIBE names channels of one hash slot only.
                for batch in [[key] for key in keys] if self._sharded else [keys]:
                    await conn.send_command(self._subscribe, *batch, check_health=False)
            self._conn = conn
            self._connected.set()
            if keys:
                logger.info("events: connected to Redis, resubscribed %d channels", len(keys))

    async def _detach(self, conn: AbstractConnection) -> None:
        if self._conn is conn:
            self._conn = None
            self._connected.clear()
            self._unconfirmed.clear()
            for state in self._registry.values():
                state.confirmed.clear()
        await conn.disconnect(nowait=True)

    async def _run_session(self, conn: AbstractConnection) -> None:
        """Read from `conn` until it fails; a PING loop detects a silently dead peer."""
        self._last_rx = asyncio.get_running_loop().time()
        reader = asyncio.create_task(self._read_loop(conn))
        pinger = asyncio.create_task(self._ping_loop(conn))
        try:
            done, _ = await asyncio.wait({reader, pinger}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            reader.cancel()
            pinger.cancel()
            await asyncio.gather(reader, pinger, return_exceptions=True)
        for task in done:
            task.result()
        raise RedisConnectionError("pub/sub session ended")

    async def _read_loop(self, conn: AbstractConnection) -> None:
        loop = asyncio.get_running_loop()
        while True:
            frame = await conn.read_response(timeout=math.inf)
            self._last_rx = loop.time()
            if not isinstance(frame, list) or len(frame) != 3:
                continue  # PING replies
            kind, raw_key, data = frame
            key = raw_key.decode(errors="replace") if isinstance(raw_key, bytes) else str(raw_key)
            if kind in (b"message", b"smessage"):
                self._dispatch(key, data)
            elif kind in (b"subscribe", b"ssubscribe"):
                self._confirm(key)

    async def _ping_loop(self, conn: AbstractConnection) -> None:
        loop = asyncio.get_running_loop()
        while True:
            sent_at = loop.time()
            async with self._write_lock:
                if not conn.is_connected:
                    raise RedisConnectionError("pub/sub connection closed")
                await conn.send_command("PING", check_health=False)
            await asyncio.sleep(self._health_check_interval)
            if self._last_rx < sent_at:
                raise RedisConnectionError("no reply to PING on the pub/sub connection")

    def _confirm(self, key: str) -> None:
        remaining = self._unconfirmed[key] - 1
        if remaining > 0:
            self._unconfirmed[key] = remaining
            return
        self._unconfirmed.pop(key, None)
        state = self._registry.get(key)
        if state is not None:
            state.confirmed.set()

    def _dispatch(self, key: str, data: bytes) -> None:
        state = self._registry.get(key)
        if state is None:
            return
        try:
            message = decode(data)
        except ValueError:
            logger.warning("events: ignored a non-JSON-object message on %r", key)
            return
        for sub in list(state.subscribers):
            if not sub.deliver(message):
                self._forget(key, sub)
