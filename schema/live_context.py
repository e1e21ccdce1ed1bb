"""The context of a websocket and the per-event database scope of live subscriptions.

`get_context` runs once per socket, so a websocket's context must not hold a database session or
loaders for the life of the connection. `LiveContext.db` / `.loaders` therefore resolve to the
scope of the event being delivered (a ContextVar set by the subscription generator while Strawberry
resolves the yielded value in the same task), and fall back to the socket's own only outside events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from dataloaders import Loaders
from db.session import Db
from resolvers.unit_of_work import Services
from schema.context import Context

logger = logging.getLogger("mockinterview.live")


@dataclass(eq=False)
class EventScope:
    """A Db and fresh loaders shared by the local subscribers resolving one event."""

    db: Db
    loaders: Loaders
    message: dict[str, Any] | None = None
    users: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class _Lease:
    """One subscriber's use of a scope; released after execution, before the (maybe slow) send."""

    scope: EventScope
    key: int | None
    released: bool = False

    async def release(self) -> None:
        if self.released:
            return
        self.released = True
        scope = self.scope
        scope.users -= 1
        if scope.users == 0:
            if self.key is not None and _shared.get(self.key) is scope:
                del _shared[self.key]
            async with scope.db.lock:  # another subscriber may still be mid-statement
                await scope.db.close()


_current_lease: ContextVar[_Lease | None] = ContextVar("live_event_lease", default=None)
# Scopes of events being resolved right now, by id(message): every local subscriber of one published
# message shares one scope, so an event costs one query per loader batch per process, not per socket.
_shared: dict[int, EventScope] = {}
# Token-expiry timers of open sockets (app.live.ws_auth), kept so they can be cancelled.
expiry_timers: set[asyncio.TimerHandle] = set()


class LiveContext(Context):
    """The context of a websocket: `db` and `loaders` are those of the event being resolved."""

    _socket_db: Db
    _socket_loaders: Loaders
    closing: bool = False
    expiry_timer: asyncio.TimerHandle | None = None
    # Follows the member's control channel for the socket's life (app.live.ws_auth).
    control_watcher: asyncio.Task[None] | None = None

    @property
    def db(self) -> Db:
        lease = _current_lease.get()
        return lease.scope.db if lease is not None and not lease.released else self._socket_db

    @db.setter
    def db(self, value: Db) -> None:
        self._socket_db = value

    @property
    def loaders(self) -> Loaders:
        lease = _current_lease.get()
        return lease.scope.loaders if lease is not None and not lease.released else self._socket_loaders

    @loaders.setter
    def loaders(self, value: Loaders) -> None:
        self._socket_loaders = value

    def cancel_expiry(self) -> None:
        """Forget the token-expiry timer (the socket is closing or closed)."""
        if self.expiry_timer is not None:
            self.expiry_timer.cancel()
            expiry_timers.discard(self.expiry_timer)
            self.expiry_timer = None

    def stop_watching(self) -> None:
        """Forget the token-expiry timer and stop following the control channel (socket closing)."""
        self.cancel_expiry()
        watcher, self.control_watcher = self.control_watcher, None
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()

    async def close_socket(self, code: int = 4403, reason: str = "Forbidden") -> None:
        """Close this websocket once (later calls do nothing)."""
        if self.closing:
            return
        self.closing = True
        self.stop_watching()
        with contextlib.suppress(Exception):  # already closed by the peer or the protocol
            await self.connection.close(code=code, reason=reason)  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def event_scope(app: Services, message: dict[str, Any] | None = None) -> AsyncIterator[EventScope]:
    """Make a fresh Db + Loaders current for one event; closes the Db when the last user leaves.

    With `message`, local subscribers handling the same published message share the scope. The
    scope is released on exit or earlier by `release_current_scope` (after execution, before send).
    """
    key = id(message) if message is not None else None
    scope = _shared.get(key) if key is not None else None
    if scope is None or scope.message is not message:
        db = Db(app.sessionmaker)
        scope = EventScope(db=db, loaders=Loaders(db), message=message)
        if key is not None:
            _shared[key] = scope
    scope.users += 1
    lease = _Lease(scope, key)
    token = _current_lease.set(lease)
    try:
        yield scope
    finally:
        with contextlib.suppress(ValueError):  # reset from another context after cancellation
            _current_lease.reset(token)
        await lease.release()


async def release_current_scope() -> None:
    """Release the event scope of this task early: called once the event's result is computed.

    The subscription generator resumes only after the transport has sent the result, which can
    take long for a slow client; the database connection must not wait for that.
    """
    lease = _current_lease.get()
    if lease is not None:
        await lease.release()


def shared_scope_count() -> int:
    """Number of event scopes alive in this process (for tests and metrics)."""
    return len(_shared)
