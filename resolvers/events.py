"""Optional live-event hooks for the marketplace (consumed by the subscriptions feature).

Call through `context.db.after_commit(...)` so events describe committed state only. Publishing is
best effort: a failing hub must never turn a committed mutation into an error.
"""

from __future__ import annotations

import logging
from typing import Any

from schema.context import Context

logger = logging.getLogger("mockinterview.events")

SLOT_KINDS = ("PUBLISHED", "BOOKED", "REOPENED", "WITHDRAWN")


def slots_channel(context: Context) -> str:
    """Channel of the open-slot board."""
    return f"{context.settings.redis_prefix}slots"


def interview_channel(context: Context, interview_id: int) -> str:
    """Channel of one interview's status updates."""
    return f"{context.settings.redis_prefix}interview:{interview_id}"


async def _publish(context: Context, channel: str, message: dict[str, Any]) -> None:
    hub = getattr(context.services, "hub", None)
    if hub is None:
        return
    try:
        await hub.publish(channel, message)
    except Exception:  # best effort: the change is committed already
        logger.warning("could not publish to %s", channel, exc_info=True)


async def slot_changed(context: Context, kind: str, slot_id: int) -> None:
    """Announce a slot that was published, booked, reopened or withdrawn."""
    cache = getattr(context.services, "response_cache", None)
    if cache is not None:  # this instance's board cache goes before the mutation replies
        cache.clear()
    await _publish(context, slots_channel(context), {"kind": kind, "slot_id": slot_id})


async def interview_changed(context: Context, interview_id: int) -> None:
    """Announce that an interview changed (status, archive flags, ...)."""
    await _publish(context, interview_channel(context, interview_id), {"interview_id": interview_id})


def after_commit_slot(context: Context, kind: str, slot_id: int) -> None:
    """Schedule `slot_changed` for after the current transaction commits."""

    async def hook() -> None:
        await slot_changed(context, kind, slot_id)

    context.db.after_commit(hook)


def after_commit_interview(context: Context, interview_id: int) -> None:
    """Schedule `interview_changed` for after the current transaction commits."""

    async def hook() -> None:
        await interview_changed(context, interview_id)

    context.db.after_commit(hook)
