"""Live feeds that survive reconnects: replay from PostgreSQL what a subscriber missed
(docs/product.md, rule 27).

The seam without gap or duplicate: `schema.subscriptions.follow` subscribes to the channel first (its
messages wait in the subscription's queue), then `Replayer.start` reads the backlog after the client's
cursor from the database page by page, then the queued and later messages are delivered, skipping
those the replay already gave. Every event is published after its transaction committed, so a
message received before a read started is in that read.

Redis pub/sub loses what is published while an instance's hub reconnects, even for sockets that
stay open; `watch_reconnects` puts a marker in the feed once the channel is subscribed on the new
connection, live messages wait until then, and the feed replays from the furthest position it
delivered through the old connection (`Replayer.resync`), so the lost ones come first, in order.

Instances publish independently, so a live message can overtake an earlier one that another
instance is still sending (its publisher retrying after a Redis restart, or merely slower). Events of
keyed feeds name the position before theirs (`previous`); a live event whose predecessor the feed has
not delivered makes it read from the database after the furthest position it delivered
(`Replayer.catch_up`), which gives both in order; the late one is then a duplicate and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from app.core.events import EventHub, HubError, Subscription
from resolvers.unit_of_work import Services
from schema.live_context import EventScope, event_scope

T = TypeVar("T")
# How often the process checks whether its hub reconnected; one task per process, not per feed.
RECONNECT_POLL_SECONDS = 0.2
# Positions a keyed feed remembers to drop duplicates (a replay page, the queue and reorderings).
SEEN_LIMIT = 1024


@dataclass(frozen=True)
class Resume(Generic[T]):
    """How one feed replays.

    `read(scope, after)`: at most `page_size` values after position `after`, oldest first (None:
    from the beginning). `head(scope)`: the position a subscriber without a cursor starts from (the
    newest now; None when there is nothing yet). `position(value)`: a value's place.
    `keyed`: positions are the events' unique, increasing ids, a live event whose id was already
    delivered is dropped, and an event names the position before it in `previous` (absent:
    unknown). Otherwise a position is a state version (interviewUpdated): a replay gives the
    current state when it differs from the cursor's, and only the events received before that
    read are dropped, because the state read includes them.
    """

    after: Any | None
    read: Callable[[EventScope, Any | None], Awaitable[Sequence[T]]]
    head: Callable[[EventScope], Awaitable[Any | None]]
    position: Callable[[T], Any]
    page_size: int
    keyed: bool = True


class _Resync(dict[str, Any]):
    """The marker `watch_reconnects` queues in a feed: the hub connection `epoch` it was made on
    (`EventHub.reconnects`) has subscribed the feed's channel again."""

    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.epoch = epoch


class Replayer(Generic[T]):
    """The replay state of one feed: where it stands, and the ids it delivered recently.

    `floor` is the furthest position delivered through the hub connection the feed last caught up
    on (`epoch`). Once the hub reconnected, live messages are held back (they are committed, so the
    replay that follows reads them) until the resync marker of the new connection arrives; the
    replay then reads from `floor`, so the messages lost between the two connections come first and
    in order.
    """

    def __init__(self, services: Services, feed: Subscription, resume: Resume[T], epoch: int) -> None:
        """`epoch`: the hub's `reconnects` read before `feed` was subscribed."""
        self._services = services
        self._feed = feed
        self._resume = resume
        self._epoch = epoch
        self._floor = resume.after
        self._last = resume.after  # the last state delivered (state feeds)
        self._seen: dict[Any, None] = {}  # insertion-ordered: the oldest is dropped first
        self._covered = 0  # queued messages the last replay of a state feed included
        if resume.after is not None and resume.keyed:
            self._seen[resume.after] = None

    async def start(self) -> AsyncGenerator[T, None]:
        """What the subscriber missed after its cursor; without one, only note where it starts."""
        if self._resume.after is None:
            async with event_scope(self._services) as scope:
                self._floor = self._last = await self._resume.head(scope)
            if self._floor is not None and self._resume.keyed:
                self._seen[self._floor] = None
            return
        async with contextlib.aclosing(self._replay()) as missed:
            async for value in missed:
                yield value

    def is_resync(self, message: dict[str, Any]) -> bool:
        """True for the marker `watch_reconnects` queues (counted like any queued message)."""
        if not isinstance(message, _Resync):
            return False
        self.covered()
        return True

    async def resync(self, marker: dict[str, Any]) -> AsyncGenerator[T, None]:
        """What was committed since `floor` (the hub reconnected): the new connection's `epoch`."""
        if isinstance(marker, _Resync):
            self._epoch = max(self._epoch, marker.epoch)
        async with contextlib.aclosing(self.catch_up()) as missed:
            async for value in missed:
                yield value

    def follows(self, message: dict[str, Any]) -> bool:
        """False when a keyed event's predecessor was not delivered yet: `catch_up` instead."""
        if not self._resume.keyed or "previous" not in message:
            return True
        previous = message["previous"]
        return previous is None or previous in self._seen or previous == self._floor

    async def catch_up(self) -> AsyncGenerator[T, None]:
        """What was committed after the furthest position delivered, oldest first."""
        async with contextlib.aclosing(self._replay()) as missed:
            async for value in missed:
                yield value

    def covered(self) -> bool:
        """True when the next queued message is to be dropped: the last replay of a state feed
        included it, or the hub reconnected and the coming resync will read it."""
        if self._covered > 0:
            self._covered -= 1
            return True
        return self._services.hub.reconnects != self._epoch

    def admit(self, value: T) -> bool:
        """Whether a value is new to the subscriber; remembers it when it is."""
        position = self._resume.position(value)
        if not self._resume.keyed:
            self._last = position
            return True
        if self._services.hub.reconnects == self._epoch:
            self._floor = position if self._floor is None else max(self._floor, position)
        if position in self._seen:
            return False
        self._seen[position] = None
        if len(self._seen) > SEEN_LIMIT:
            del self._seen[next(iter(self._seen))]
        return True

    async def _replay(self) -> AsyncGenerator[T, None]:
        resume = self._resume
        position = self._floor if resume.keyed else self._last
        while True:
            queued = self._feed.pending  # received before this read: included in it
            async with event_scope(self._services) as scope:
                page = list(await resume.read(scope, position))
            given = False
            for value in page:
                if resume.keyed:
                    place = resume.position(value)
                    position = place if position is None else max(position, place)
                if not self.admit(value):
                    continue
                given = True
                async with event_scope(self._services):  # its fields resolve in a scope of their own
                    yield value
            if len(page) < resume.page_size or not resume.keyed:
                if not resume.keyed and given:
                    self._covered = queued
                return


class _ReconnectWatch:
    """One task per hub and process: after the hub reconnected, each registered feed gets a resync
    marker once its channel is subscribed on the new connection."""

    def __init__(self, hub: EventHub) -> None:
        self.hub = hub
        self.feeds: dict[Subscription, str] = {}
        self.marked: dict[Subscription, int] = {}  # the epoch each feed is known to follow
        self.marking: set[Subscription] = set()
        self.task: asyncio.Task[None] | None = None

    def add(self, feed: Subscription, channel: str, epoch: int) -> None:
        self.feeds[feed] = channel
        self.marked[feed] = epoch

    def remove(self, feed: Subscription) -> None:
        self.feeds.pop(feed, None)
        self.marked.pop(feed, None)

    async def run(self) -> None:
        while self.feeds:
            await asyncio.sleep(RECONNECT_POLL_SECONDS)
            if not self.hub.connected:
                continue
            epoch = self.hub.reconnects
            for feed, channel in list(self.feeds.items()):
                if self.marked.get(feed) != epoch and feed not in self.marking:
                    self.marking.add(feed)
                    _spawn(self._mark(channel, feed))

    async def _mark(self, channel: str, feed: Subscription) -> None:
        try:
            while not feed.ended and feed in self.feeds:
                epoch = self.hub.reconnects
                try:
                    # Returns once Redis confirmed the channel on the current connection: later
                    # events arrive live, earlier ones are in the database for the replay.
                    async with self.hub.subscribe(channel):
                        pass
                except HubError:
                    await asyncio.sleep(RECONNECT_POLL_SECONDS)  # down again: until it is back
                    continue
                if self.hub.reconnects != epoch or not self.hub.connected:
                    continue  # it reconnected meanwhile: confirm on the newest connection
                self.marked[feed] = epoch
                feed.deliver(_Resync(epoch))
                return
        finally:
            self.marking.discard(feed)


_watches: dict[int, _ReconnectWatch] = {}
_tasks: set[asyncio.Task[None]] = set()


def _spawn(coroutine: Awaitable[None]) -> asyncio.Task[None]:
    task = asyncio.ensure_future(coroutine)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task


@contextlib.contextmanager
def watch_reconnects(
    hub: EventHub, channel: str, feed: Subscription, *, epoch: int, enabled: bool
) -> Iterator[None]:
    """Queue a resync marker in `feed` after every reconnect of `hub` while the block runs; `epoch`
    is the hub's `reconnects` read before `feed` was subscribed."""
    if not enabled:
        yield
        return
    watch = _watches.get(id(hub))
    if watch is None or watch.hub is not hub:
        watch = _watches[id(hub)] = _ReconnectWatch(hub)
    watch.add(feed, channel, epoch)
    if watch.task is None or watch.task.done():
        watch.task = _spawn(watch.run())
    try:
        yield
    finally:
        watch.remove(feed)
        if not watch.feeds and _watches.get(id(hub)) is watch:
            del _watches[id(hub)]
