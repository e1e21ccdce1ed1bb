"""Live subscriptions: follow a hub channel, resolve every event with a fresh database scope.

Every authenticated subscription also follows the member's control channel: a BLOCKED or
LOGGED_OUT message there ends it with an error and closes the socket (4403).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from app.core.errors import AppError, NotFound, Unauthenticated
from app.core.events import HubError, SubscriberTooSlow, Subscription
from db.models import Interview, User
from db.session import Db
from resolvers.interviews.access import can_view_interview
from schema.context import Context
from schema.live_context import EventScope, LiveContext, event_scope

logger = logging.getLogger("mockinterview.live")

T = TypeVar("T")
Build = Callable[[dict[str, Any], EventScope], Awaitable[T | None]]


class SessionEnded(HubError):
    """The member was blocked or logged out everywhere while subscribed."""


class LiveUnavailable(AppError):
    code = "SERVICE_UNAVAILABLE"


class TooSlow(AppError):
    code = "SUBSCRIBER_TOO_SLOW"


def control_channel(prefix: str, user_id: int) -> str:
    """The channel that ends a member's live subscriptions (BLOCKED, LOGGED_OUT)."""
    return f"{prefix}user:{user_id}:control"


async def _watch_control(control: Subscription, feed: Subscription, context: Context) -> None:
    try:
        async for message in control:
            feed.end(SessionEnded(str(message.get("kind", "ENDED"))))
            break
    except HubError:
        feed.end(SessionEnded("ENDED"))


_closers: set[asyncio.Task[None]] = set()


def _close_socket_soon(context: Context) -> None:
    """Close the socket with 4403 once the protocol has sent the subscription's error."""
    if not isinstance(context, LiveContext) or context.closing:
        return

    async def close() -> None:
        await asyncio.sleep(0.05)
        await context.close_socket()

    task = asyncio.create_task(close())
    _closers.add(task)
    task.add_done_callback(_closers.discard)


@contextlib.asynccontextmanager
async def _feed(context: Context, channel: str) -> AsyncIterator[Subscription]:
    hub = context.services.hub
    async with hub.subscribe(channel) as feed:
        viewer = context.viewer
        if viewer is None:
            yield feed
            return
        async with hub.subscribe(control_channel(context.settings.redis_prefix, viewer.id)) as control:
            watcher = asyncio.create_task(_watch_control(control, feed, context))
            try:
                yield feed
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher


async def follow(context: Context, channel: str, build: Build[T]) -> AsyncGenerator[T, None]:
    """Yield `build(message, scope)` for every message of `channel` (None results are skipped).

    Each event gets a fresh Db and loaders (shared by the local subscribers of that same
    message) that are closed once it is resolved; no session lives as long as the subscription.
    """
    try:
        async with _feed(context, channel) as feed:
            async for message in feed:
                async with event_scope(context.services, message) as scope:
                    value = await build(message, scope)
                    if value is not None:
                        yield value
    except SubscriberTooSlow as exc:
        raise TooSlow("Too many events were not read in time; re-fetch and subscribe again.") from exc
    except SessionEnded as exc:
        _close_socket_soon(context)
        raise Unauthenticated("Your session ended; sign in again.", reason=str(exc)) from exc
    except HubError as exc:
        raise LiveUnavailable("Live updates are unavailable right now; retry later.") from exc


async def check_interview_access(context: Context, interview_id: int) -> None:
    """Subscribe-time check: participants, moderators and admins only (NOT_FOUND otherwise)."""
    viewer = context.require_viewer()
    db = Db(context.services.sessionmaker)
    try:
        interview = await db.session.get(Interview, interview_id)
        fresh_viewer = await db.session.get(User, viewer.id)
    finally:
        await db.close()
    # The socket's viewer may be minutes old: decide on the current role.
    if interview is None or fresh_viewer is None or not can_view_interview(fresh_viewer, interview):
        raise NotFound("No Interview with this ID.")
