"""Websocket authentication and the per-event database scope of live subscriptions.

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

from strawberry.exceptions import ConnectionRejectionError

from app.auth.tokens import InvalidToken
from app.context import AppState, Context, Db
from dataloaders import Loaders

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


class LiveContext(Context):
    """The context of a websocket: `db` and `loaders` are those of the event being resolved."""

    _socket_db: Db
    _socket_loaders: Loaders
    closing: bool = False
    expiry_timer: asyncio.TimerHandle | None = None

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
            _expiry_timers.discard(self.expiry_timer)
            self.expiry_timer = None

    async def close_socket(self, code: int = 4403, reason: str = "Forbidden") -> None:
        """Close this websocket once (later calls do nothing)."""
        if self.closing:
            return
        self.closing = True
        self.cancel_expiry()
        with contextlib.suppress(Exception):  # already closed by the peer or the protocol
            await self.connection.close(code=code, reason=reason)  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def event_scope(app: AppState, message: dict[str, Any] | None = None) -> AsyncIterator[EventScope]:
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


_expiry_timers: set[asyncio.TimerHandle] = set()


def _close_when_token_expires(app: AppState, context: Context, authorization: str) -> None:
    """An access token is short-lived; the socket it opened must not outlive it (client reconnects)."""
    if not isinstance(context, LiveContext):
        return
    _, _, token = authorization.partition(" ")
    try:
        claims = app.tokens.verify(token.strip(), app.clock.now())
    except InvalidToken:
        return
    remaining = claims.issued_at + app.tokens.ttl - app.clock.now().timestamp()
    loop = asyncio.get_running_loop()

    def expire() -> None:
        _expiry_timers.discard(handle)
        task = loop.create_task(context.close_socket(4403, "Access token expired"))
        _closing_tasks.add(task)
        task.add_done_callback(_closing_tasks.discard)

    handle = loop.call_later(max(0.0, remaining), expire)
    _expiry_timers.add(handle)
    context.expiry_timer = handle


_closing_tasks: set[asyncio.Task[None]] = set()


def token_from_params(params: dict[str, Any] | None) -> str | None:
    """The `Authorization` value of a `connection_init` payload (either spelling), if any."""
    if not params:
        return None
    value = params.get("Authorization", params.get("authorization"))
    return value if isinstance(value, str) else None


async def authenticate_socket(app: AppState, context: Context) -> None:
    """Check the token of `connection_init`; raise ConnectionRejectionError for a bad one.

    A socket without a token stays anonymous (public board only). The viewer is kept on the
    context; the lookup uses a short-lived Db so the socket never holds a database connection.
    """
    from app.graphql_view import authenticate_with_method

    authorization = token_from_params(getattr(context, "connection_params", None))
    if authorization is not None:
        db = Db(app.sessionmaker)
        try:
            viewer, error, (method, scope) = await authenticate_with_method(app, db, authorization)
        finally:
            await db.close()
        context.viewer, context.auth_error = viewer, error
        context.auth_method, context.api_key_scope = method, scope
    if context.auth_error is not None:
        raise ConnectionRejectionError({"message": str(context.auth_error)})
    if authorization is not None and context.auth_method == "password":
        _close_when_token_expires(app, context, authorization)
    # get_context may have authenticated from a header with the socket's Db: release it now.
    socket_db = context._socket_db if isinstance(context, LiveContext) else context.db
    await socket_db.close()
