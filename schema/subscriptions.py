"""Live subscriptions: follow a hub channel, resolve every event with a fresh database scope.

Every authenticated subscription also follows the member's control channel (docs/trust.md,
"Revocation"): BLOCKED, LOGGED_OUT or the revocation of the socket's session (or API keys) ends it
with UNAUTHENTICATED and closes the socket (4403); ROLE_CHANGED re-reads the member (the context uses
the new role from then on) and re-checks the subscription's access (`recheck`), ending it with the
refusal (FORBIDDEN for an interview's feeds); events wait while that runs.

Feeds with a `Resume` survive reconnects (docs/product.md, rule 27; `schema/replay.py`): they
subscribe to the channel first, replay from PostgreSQL what the subscriber missed after its cursor,
then go on live without duplicates, and replay again after the hub reconnected to Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from app.core.enums import ControlKind
from app.core.errors import AppError, Forbidden, NotFound, Unauthenticated
from app.core.events import HubError, SubscriberTooSlow, Subscription
from dataloaders.accounts import load_viewer
from db.models import Interview, User
from db.session import Db
from resolvers.accounts.sessions import blocked_error
from resolvers.interviews.access import can_view_interview
from schema.context import Context
from schema.live_context import EventScope, LiveContext, event_scope
from schema.replay import Replayer, Resume, watch_reconnects

logger = logging.getLogger("mockinterview.live")

T = TypeVar("T")
Build = Callable[[dict[str, Any], EventScope], Awaitable[T | None]]
# Re-checks a running subscription's access after a role change; raises an AppError to end it.
Recheck = Callable[[], Awaitable[None]]


class SessionEnded(HubError):
    """The member was blocked, logged out everywhere or lost the socket's session while subscribed."""


class AccessEnded(HubError):
    """A re-check after a role change refused the subscription; `error` says why."""

    def __init__(self, error: AppError) -> None:
        super().__init__(str(error))
        self.error = error


class LiveUnavailable(AppError):
    code = "SERVICE_UNAVAILABLE"


class TooSlow(AppError):
    code = "SUBSCRIBER_TOO_SLOW"


def control_channel(prefix: str, user_id: int) -> str:
    """The channel of a member's access changes (`app.core.channels.Channels.control`)."""
    return f"{prefix}user:{user_id}:control"


def ends_session(context: Context, message: dict[str, Any]) -> bool:
    """True when a control message ends the access of this socket: its member blocked or logged out
    everywhere, its session revoked (its API keys, for a socket opened with one), or a kind this
    version does not know. A role change does not; it calls for a re-check."""
    kind = message.get("kind")
    if kind == ControlKind.ROLE_CHANGED:
        return False
    if kind == ControlKind.SESSIONS_REVOKED:
        if context.auth_method == "api_key":
            return bool(message.get("apiKeys"))
        return str(context.session_id) in (message.get("sessions") or ())
    return True


async def reload_viewer(context: Context) -> bool:
    """Re-read the context's member (after a role change): the context uses the new row from now on.
    False when the member is gone or blocked."""
    viewer = context.viewer
    if viewer is None:
        return True
    db = Db(context.services.sessionmaker)
    try:
        fresh = await load_viewer(db, viewer.id)
    finally:
        await db.close()
    if fresh is None or blocked_error(fresh, context.now()) is not None:
        return False
    context.viewer = fresh
    return True


async def _recheck(context: Context, recheck: Recheck | None) -> HubError | None:
    """Why a subscription must end after a role change, if it must."""
    try:
        if not await reload_viewer(context):
            return SessionEnded(ControlKind.BLOCKED.value)
        if recheck is not None:
            await recheck()
    except AppError as error:
        return AccessEnded(error)
    except Exception:  # the database is unreachable: fail closed, the client may subscribe again
        logger.warning("could not re-check a subscription after a role change", exc_info=True)
        return AccessEnded(LiveUnavailable("Live updates are unavailable right now; retry later."))
    return None


async def _watch_control(
    control: Subscription,
    feed: Subscription,
    context: Context,
    recheck: Recheck | None,
    settled: asyncio.Event,
) -> None:
    try:
        async for message in control:
            if message.get("kind") != ControlKind.ROLE_CHANGED:
                if ends_session(context, message):
                    feed.end(SessionEnded(str(message.get("kind", "ENDED"))))
                    break
                continue
            settled.clear()  # `follow` holds events back until the re-check is done
            try:
                ended = await _recheck(context, recheck)
            finally:
                settled.set()
            if ended is not None:
                feed.end(ended)
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
async def _feed(
    context: Context, channel: str, recheck: Recheck | None
) -> AsyncIterator[tuple[Subscription, asyncio.Event]]:
    """The channel's subscription, and an event that is clear while a re-check runs."""
    hub = context.services.hub
    settled = asyncio.Event()
    settled.set()
    async with hub.subscribe(channel) as feed:
        viewer = context.viewer
        if viewer is None:
            yield feed, settled
            return
        async with hub.subscribe(control_channel(context.settings.redis_prefix, viewer.id)) as control:
            watcher = asyncio.create_task(_watch_control(control, feed, context, recheck, settled))
            try:
                yield feed, settled
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher


async def follow(
    context: Context,
    channel: str,
    build: Build[T],
    *,
    recheck: Recheck | None = None,
    resume: Resume[T] | None = None,
) -> AsyncGenerator[T, None]:
    """Yield `build(message, scope)` for every message of `channel` (None results are skipped).

    Each event gets a fresh Db and loaders (shared by the local subscribers of that same
    message) that are closed once it is resolved; no session lives as long as the subscription.
    `recheck` runs after the member's role changed (module docstring). With `resume`, what the
    subscriber missed is replayed first and after every hub reconnect, and duplicates are skipped.
    """
    try:
        hub = context.services.hub
        epoch = hub.reconnects  # before subscribing: a reconnect while it happens gets a resync too
        async with _feed(context, channel, recheck) as (feed, settled):
            replayer = Replayer(context.services, feed, resume, epoch) if resume is not None else None
            with watch_reconnects(hub, channel, feed, epoch=epoch, enabled=replayer is not None):
                if replayer is not None:
                    async with contextlib.aclosing(replayer.start()) as missed:
                        async for value in missed:
                            yield value
                async with contextlib.aclosing(_live(feed, settled, context, build, replayer)) as live:
                    async for value in live:
                        yield value
    except SubscriberTooSlow as exc:
        raise TooSlow("Too many events were not read in time; re-fetch and subscribe again.") from exc
    except SessionEnded as exc:
        _close_socket_soon(context)
        raise Unauthenticated("Your session ended; sign in again.", reason=str(exc)) from exc
    except AccessEnded as exc:
        raise exc.error from exc
    except HubError as exc:
        raise LiveUnavailable("Live updates are unavailable right now; retry later.") from exc


async def _live(
    feed: Subscription,
    settled: asyncio.Event,
    context: Context,
    build: Build[T],
    replayer: Replayer[T] | None,
) -> AsyncGenerator[T, None]:
    async for message in feed:
        await settled.wait()
        if feed.ended:  # a re-check ended it meanwhile: the next iteration raises why
            continue
        if replayer is not None:
            if replayer.is_resync(message):
                async with contextlib.aclosing(replayer.resync(message)) as missed:
                    async for replayed in missed:
                        yield replayed
                continue
            if replayer.covered():
                continue
            if not replayer.follows(message):  # an earlier event is still on its way: read both
                async with contextlib.aclosing(replayer.catch_up()) as missed:
                    async for replayed in missed:
                        yield replayed
                continue
        async with event_scope(context.services, message) as scope:
            value = await build(message, scope)
            if value is not None and (replayer is None or replayer.admit(value)):
                yield value


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


def interview_access(context: Context, interview_id: int) -> Recheck:
    """The re-check of an interview's feeds after a role change: FORBIDDEN once the member may no
    longer see the interview (e.g. a moderator demoted to MEMBER who takes no part in it)."""

    async def recheck() -> None:
        try:
            await check_interview_access(context, interview_id)
        except NotFound as exc:
            raise Forbidden("Your role no longer gives access to this interview.") from exc

    return recheck
