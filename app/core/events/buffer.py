"""Events published off the request path: a bounded in-process buffer and one background sender.

A server process's event sink. `publish()` checks the message and queues it, without waiting on
Redis, so a mutation's reply never waits for the events hub. One task sends the queued events to
the hub in the order they were queued, which keeps the order per channel.

- A failed send (the hub raised, e.g. HubUnavailable while Redis is down, or took longer than
  `publish_timeout`) is retried with the same event after `retry_initial` seconds, doubling up to
  `retry_max`; events queued meanwhile wait behind it.
- When `max_size` events are waiting, the oldest one not being sent is dropped to make room: live
  events are at-most-once (clients re-fetch after a reconnect) and the newest matter most.
- An outage and a full buffer are logged once each (when they start and when they end), not per
  event; sent, dropped (by reason) and retried events are counted in /metrics.
- `stop(flush_timeout)` sends what is still queued for at most that long, then drops the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

from redis.exceptions import RedisError

from app.core.events.base import EventSink, HubClosed, HubUnavailable, encode
from app.core.metrics import record_event_buffer, set_event_buffer_pending

logger = logging.getLogger("mockinterview.events")

# A send that failed for one of these is retried; anything else drops the event (logged).
_RETRYABLE = (HubUnavailable, RedisError, OSError, TimeoutError)

_Event = tuple[str, dict[str, Any]]


class EventBuffer:
    """Bounded queue of events in front of a hub, drained by a background task (module docstring).

    `start()` it inside the running event loop; `published`, `dropped` and `retries` count what
    it did (also in /metrics: `mockinterview_event_buffer_*`).
    """

    def __init__(
        self,
        hub: EventSink,
        *,
        max_size: int = 10_000,
        publish_timeout: float = 1.0,
        retry_initial: float = 0.05,
        retry_max: float = 1.0,
    ) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self._hub = hub
        self._max_size = max_size
        self._publish_timeout = publish_timeout
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._queue: deque[_Event] = deque()
        self._sending: _Event | None = None
        self._wakeup = asyncio.Event()
        self._empty = asyncio.Event()
        self._empty.set()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._failing_since: float | None = None
        self._overflowing = False
        self.published = 0
        self.dropped = 0
        self.retries = 0

    @property
    def pending(self) -> int:
        """Events queued and not yet sent (including the one being sent)."""
        return len(self._queue)

    def start(self) -> None:
        """Start the background sender; idempotent."""
        if self._closed:
            raise HubClosed("event buffer was stopped")
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="event-buffer")

    async def stop(self, flush_timeout: float = 5.0) -> None:
        """Refuse new events, send the queued ones for at most `flush_timeout` seconds, drop the rest."""
        self._closed = True
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._empty.wait(), flush_timeout)
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._queue:
            logger.warning("events: dropped %d unsent events at shutdown", len(self._queue))
            self._drop("shutdown", len(self._queue))
            self._queue.clear()
            self._set_pending()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Queue `message` for `channel` and return at once.

        Raises TypeError for a message that is not a JSON-serialisable dict (checked now, not in
        the background), HubClosed once the buffer was stopped.
        """
        if self._closed:
            raise HubClosed("event buffer was stopped")
        encode(message)
        if len(self._queue) >= self._max_size and not self._make_room():
            return
        self._queue.append((channel, message))
        self._set_pending()
        self._empty.clear()
        self._wakeup.set()

    def _make_room(self) -> bool:
        """Drop the oldest waiting event; False when there is none (the new one is dropped)."""
        self._drop("full")
        if not self._overflowing:
            self._overflowing = True
            logger.warning("events: publish buffer full (%d); dropping the oldest events", self._max_size)
        # The event being sent stays: dropping it could count it both sent and dropped.
        index = 1 if self._queue[0] is self._sending else 0
        if index >= len(self._queue):
            return False
        del self._queue[index]
        return True

    async def _drain(self) -> None:
        delay = self._retry_initial
        while True:
            if not self._queue:
                self._overflowing = False
                self._empty.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            event = self._sending = self._queue[0]
            try:
                sent = await self._send(event)
            finally:
                self._sending = None
            if sent is None:  # failed, retryable: the same event again after a pause
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)
                continue
            if self._queue and self._queue[0] is event:
                self._queue.popleft()
                self._set_pending()
            delay = self._retry_initial

    async def _send(self, event: _Event) -> bool | None:
        """Send one event: True when sent, False when dropped for good, None to retry it."""
        channel, message = event
        try:
            async with asyncio.timeout(self._publish_timeout):
                await self._hub.publish(channel, message)
        except _RETRYABLE as exc:
            self.retries += 1
            record_event_buffer("retried")
            if self._failing_since is None:
                self._failing_since = asyncio.get_running_loop().time()
                logger.warning(
                    "events: cannot publish (%r); buffering up to %d events and retrying", exc, self._max_size
                )
            return None
        except HubClosed:
            self._drop("shutdown")
            return False
        except Exception:  # never let one bad event stop the sender
            logger.exception("events: dropped an event for %r that could not be published", channel)
            self._drop("error")
            return False
        self.published += 1
        record_event_buffer("published")
        if self._failing_since is not None:
            logger.info(
                "events: publishing again after %.1f s (%d retries and %d dropped so far)",
                asyncio.get_running_loop().time() - self._failing_since,
                self.retries,
                self.dropped,
            )
            self._failing_since = None
        return True

    def _drop(self, reason: str, count: int = 1) -> None:
        self.dropped += count
        record_event_buffer(reason, count)

    def _set_pending(self) -> None:
        set_event_buffer_pending(len(self._queue))
