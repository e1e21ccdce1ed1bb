"""Members' delivery preferences: channels per notification kind, and quiet hours
(docs/product.md, rule 26)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert

from app.core.enums import DeliveryChannel, NotificationKind
from app.core.errors import BadUserInput
from db.models import NotificationPreference, NotificationSettings, User
from resolvers.unit_of_work import UnitOfWork

ALL_CHANNELS = tuple(DeliveryChannel)
# Points move on every booking, cancellation and completion: by default they are not emailed (the
# email about the booking says what it cost); every other channel gets them (docs/product.md, rule 26).
DEFAULT_CHANNELS: dict[str, tuple[DeliveryChannel, ...]] = {
    NotificationKind.POINTS_CHANGED: tuple(c for c in ALL_CHANNELS if c != DeliveryChannel.EMAIL),
}
# Channels that reach a person (and so wait for the end of quiet hours); webhooks feed systems.
PERSONAL_CHANNELS = frozenset({DeliveryChannel.EMAIL, DeliveryChannel.WEB_PUSH, DeliveryChannel.TELEGRAM})


def default_channels(kind: str) -> tuple[DeliveryChannel, ...]:
    """The channels of a kind the member has not chosen for: every channel unless listed above, so a
    kind added later is delivered everywhere by default."""
    return DEFAULT_CHANNELS.get(kind, ALL_CHANNELS)


def quiet_delay(now: datetime, zone: str, start: time | None, end: time | None) -> timedelta:
    """How long a personal delivery created at `now` waits: until `end` when the member's local time
    is within [start, end) (which may span midnight), else zero."""
    if start is None or end is None or start == end:
        return timedelta(0)
    try:
        local = now.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        local = now
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return timedelta(0)
    ends = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return ends - local


REACH = text(
    """
    SELECT (SELECT count(*) FROM push_subscriptions WHERE user_id = :user_id) AS push_subscriptions,
           EXISTS (SELECT FROM telegram_chats WHERE user_id = :user_id) AS telegram_linked
    """
)


@dataclass(frozen=True)
class Preferences:
    """Every kind with its channels (chosen or default), and the quiet hours."""

    channels: dict[str, tuple[DeliveryChannel, ...]]
    quiet_hours_start: time | None
    quiet_hours_end: time | None
    timezone: str
    push_subscriptions: int = 0
    telegram_linked: bool = False


async def preferences_of(uow: UnitOfWork, actor: User) -> Preferences:
    """The actor's preferences for every notification kind."""
    chosen = await uow.db.execute(
        select(NotificationPreference.kind, NotificationPreference.channels).where(
            NotificationPreference.user_id == actor.id
        )
    )
    rows: list[Any] = list(chosen.all())
    by_kind = {row.kind: tuple(DeliveryChannel(c) for c in row.channels) for row in rows}
    settings = (
        await uow.db.execute(select(NotificationSettings).where(NotificationSettings.user_id == actor.id))
    ).scalar()
    reach = (await uow.db.execute(REACH, {"user_id": actor.id})).one()
    return Preferences(
        channels={kind: by_kind.get(kind, default_channels(kind)) for kind in NotificationKind},
        quiet_hours_start=settings.quiet_hours_start if settings else None,
        quiet_hours_end=settings.quiet_hours_end if settings else None,
        timezone=actor.timezone,
        push_subscriptions=reach.push_subscriptions,
        telegram_linked=reach.telegram_linked,
    )


@dataclass(frozen=True)
class QuietHours:
    start: time | None
    end: time | None


def _quiet_hours(start: time | None, end: time | None) -> QuietHours:
    if (start is None) != (end is None):
        raise BadUserInput("Give both quietHoursStart and quietHoursEnd, or neither.", field="quietHoursEnd")
    if start is not None and start == end:
        raise BadUserInput("Quiet hours must not start and end at the same time.", field="quietHoursEnd")
    return QuietHours(start, end)


async def update_preferences(
    uow: UnitOfWork,
    actor: User,
    kinds: Sequence[tuple[NotificationKind, Sequence[DeliveryChannel]]],
    quiet_hours: tuple[time | None, time | None] | None,
) -> Preferences:
    """Set the channels of the kinds given (others keep theirs) and, when given, the quiet hours
    (`(None, None)` clears them)."""
    if len({kind for kind, _ in kinds}) != len(kinds):
        raise BadUserInput("Each kind at most once.", field="kinds")
    quiet = _quiet_hours(*quiet_hours) if quiet_hours is not None else None
    async with uow.db.transaction() as session:
        for kind, channels in kinds:
            values = {
                "user_id": actor.id,
                "kind": kind.value,
                "channels": sorted({c.value for c in channels}),
            }
            await session.execute(
                insert(NotificationPreference)
                .values(**values)
                .on_conflict_do_update(
                    index_elements=["user_id", "kind"], set_={"channels": values["channels"]}
                )
            )
        if quiet is not None:
            await session.execute(
                delete(NotificationSettings).where(NotificationSettings.user_id == actor.id)
            )
            session.add(
                NotificationSettings(
                    user_id=actor.id, quiet_hours_start=quiet.start, quiet_hours_end=quiet.end
                )
            )
    return await preferences_of(uow, actor)


async def unsubscribe_email(uow: UnitOfWork, user_id: int, kind: str) -> bool:
    """Stop emailing one kind to a member (the one-click unsubscribe link); False for an unknown member."""
    async with uow.db.transaction() as session:
        if await session.get(User, user_id) is None:
            return False
        row = await session.get(NotificationPreference, (user_id, kind), with_for_update=True)
        current = tuple(row.channels) if row is not None else default_channels(kind)
        remaining = sorted(c for c in current if c != DeliveryChannel.EMAIL)
        await session.execute(
            insert(NotificationPreference)
            .values(user_id=user_id, kind=kind, channels=remaining)
            .on_conflict_do_update(index_elements=["user_id", "kind"], set_={"channels": remaining})
        )
    return True
