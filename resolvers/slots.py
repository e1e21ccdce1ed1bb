"""Publishing, changing, withdrawing and listing interview slots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import SlotEventKind, SlotStatus
from app.core.errors import BadUserInput, Conflict, Forbidden, NotFound
from dataloaders import forget
from db.models import Slot, Specialization, User
from resolvers import events, validation
from resolvers.integrity import EXCLUSION_VIOLATION, flush_or_conflict
from resolvers.unit_of_work import UnitOfWork

MAX_VIDEO_LINK_LENGTH = 2000
OVERLAP = "You already have a slot at this time."


def aware_utc(value: datetime, field: str) -> datetime:
    """`value` in UTC; naive datetimes are refused because their meaning is ambiguous."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise BadUserInput(f"`{field}` must include a time zone offset.", field=field)
    return value.astimezone(UTC)


def video_link(value: str) -> str:
    """An absolute http(s) URL of at most 2000 characters."""
    cleaned = value.strip()
    if len(cleaned) > MAX_VIDEO_LINK_LENGTH:
        raise BadUserInput("`videoLink` is too long.", field="videoLink")
    try:
        parts = urlsplit(cleaned)
    except ValueError as exc:
        raise BadUserInput("`videoLink` is not a valid URL.", field="videoLink") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadUserInput("`videoLink` must be an http(s) URL.", field="videoLink")
    if any(ch.isspace() or ord(ch) < 32 for ch in cleaned):
        raise BadUserInput("`videoLink` must not contain whitespace.", field="videoLink")
    return cleaned


def _optional_text(value: str | None, field: str, max_length: int) -> str | None:
    if value is None:
        return None
    cleaned = validation.text(value, field, min_length=0, max_length=max_length)
    return cleaned or None


def _checked_times(uow: UnitOfWork, starts_at: datetime, duration_minutes: int) -> tuple[datetime, datetime]:
    """(start in UTC, end) of a slot: it starts in the future and lasts 15-180 minutes
    (docs/product.md, rule 5)."""
    start = aware_utc(starts_at, "startsAt")
    if start <= uow.now():
        raise BadUserInput("`startsAt` must be in the future.", field="startsAt")
    if not 15 <= duration_minutes <= 180:
        raise BadUserInput("`durationMinutes` must be 15-180.", field="durationMinutes")
    return start, start + timedelta(minutes=duration_minutes)


async def _open_specialization(session: AsyncSession, specialization_id: int) -> None:
    """The specialization exists and is not archived (docs/product.md, rule 5). FOR SHARE: an
    archiving that commits first is seen here; one that comes later waits for this slot."""
    specialization = await session.scalar(
        select(Specialization).where(Specialization.id == specialization_id).with_for_update(read=True)
    )
    if specialization is None:
        raise BadUserInput("Unknown specialization.", field="specializationId")
    if specialization.archived_at is not None:
        raise Conflict("This specialization is archived and takes no new slots.", field="specializationId")


async def create_slot(
    uow: UnitOfWork,
    actor: User,
    *,
    specialization_id: int,
    starts_at: datetime,
    duration_minutes: int,
    video_link_value: str,
    title: str | None,
    description: str | None,
) -> Slot:
    """Publish a slot for the actor; overlapping slots of one host are refused by the database."""
    start, end = _checked_times(uow, starts_at, duration_minutes)
    link = video_link(video_link_value)
    clean_title = _optional_text(title, "title", 200)
    clean_description = _optional_text(description, "description", 2000)
    async with uow.db.transaction() as session:
        await _open_specialization(session, specialization_id)
        slot = Slot(
            host_id=actor.id,
            specialization_id=specialization_id,
            starts_at=start,
            ends_at=end,
            duration_minutes=duration_minutes,
            video_link=link,
            title=clean_title,
            description=clean_description,
            status=SlotStatus.OPEN,
        )
        session.add(slot)
        await flush_or_conflict(session, {EXCLUSION_VIOLATION: OVERLAP}, field="startsAt")
        events.announce_slot(uow, SlotEventKind.PUBLISHED, slot.id)
    return slot


@dataclass(frozen=True)
class SlotChanges:
    """What `update_slot` changes; None leaves a value as it is ("" clears a title or description)."""

    starts_at: datetime | None = None
    duration_minutes: int | None = None
    video_link: str | None = None
    title: str | None = None
    description: str | None = None


def _apply(uow: UnitOfWork, slot: Slot, changes: SlotChanges) -> None:
    """Change `slot` as createSlot would have made it (the same checks), in place."""
    if changes.starts_at is not None or changes.duration_minutes is not None:
        starts_at = slot.starts_at if changes.starts_at is None else changes.starts_at
        minutes = slot.duration_minutes if changes.duration_minutes is None else changes.duration_minutes
        slot.starts_at, slot.ends_at = _checked_times(uow, starts_at, minutes)
        slot.duration_minutes = minutes
    if changes.video_link is not None:
        slot.video_link = video_link(changes.video_link)
    if changes.title is not None:
        slot.title = _optional_text(changes.title, "title", 200)
    if changes.description is not None:
        slot.description = _optional_text(changes.description, "description", 2000)


async def update_slot(uow: UnitOfWork, actor: User, slot_id: int, changes: SlotChanges) -> Slot:
    """The host changes an OPEN slot that has not started; board subscribers get an UPDATED event.

    The slot row lock serialises this with bookings: a slot booked meanwhile is refused here
    (CONFLICT), never changed under its candidate. A new time must not overlap the host's other
    slots (the exclusion constraint, as for createSlot).
    """
    async with uow.db.transaction() as session:
        slot = await session.scalar(select(Slot).where(Slot.id == slot_id).with_for_update())
        if slot is None:
            raise NotFound("No Slot with this ID.")
        if slot.host_id != actor.id:
            raise Forbidden("Only the host can change a slot.")
        if slot.status != SlotStatus.OPEN:
            raise Conflict(f"A {slot.status.lower()} slot cannot be changed.")
        if slot.starts_at <= uow.now():
            raise Conflict("This slot has already started.")
        _apply(uow, slot, changes)
        await flush_or_conflict(session, {EXCLUSION_VIOLATION: OVERLAP}, field="startsAt")
        events.announce_slot(uow, SlotEventKind.UPDATED, slot.id)
    forget(uow.loaders.slot, slot_id)
    return slot


async def withdraw_slot(uow: UnitOfWork, actor: User, slot_id: int) -> Slot:
    """The host takes an OPEN slot off the board (a booked slot must be cancelled instead)."""
    async with uow.db.transaction() as session:
        slot = await session.scalar(select(Slot).where(Slot.id == slot_id).with_for_update())
        if slot is None:
            raise NotFound("No Slot with this ID.")
        if slot.host_id != actor.id:
            raise Forbidden("Only the host can withdraw a slot.")
        if slot.status != SlotStatus.OPEN:
            raise Conflict(f"A {slot.status.lower()} slot cannot be withdrawn.")
        slot.status = SlotStatus.WITHDRAWN
        events.announce_slot(uow, SlotEventKind.WITHDRAWN, slot.id)
    forget(uow.loaders.slot, slot_id)
    return slot


def board_bounds(
    uow: UnitOfWork, starts_after: datetime | None, starts_before: datetime | None
) -> tuple[datetime, datetime | None]:
    """The board's time window: after max(now, startsAfter), before startsBefore."""
    lower = uow.now()
    if starts_after is not None:
        lower = max(lower, aware_utc(starts_after, "startsAfter"))
    upper = aware_utc(starts_before, "startsBefore") if starts_before is not None else None
    return lower, upper


def open_slots_statement(
    lower: Any, *, upper: Any, specialization_id: Any, after: Any, limit: Any
) -> Select[Any]:
    """OPEN slots that start after `lower` (and before `upper`), ordered by (starts_at, id), after a
    keyset cursor."""
    statement = (
        select(Slot)
        .where(Slot.status == SlotStatus.OPEN, Slot.starts_at > lower)
        .order_by(Slot.starts_at, Slot.id)
        .limit(limit)
    )
    if upper is not None:
        statement = statement.where(Slot.starts_at < upper)
    if specialization_id is not None:
        statement = statement.where(Slot.specialization_id == specialization_id)
    if after is not None:
        statement = statement.where(tuple_(Slot.starts_at, Slot.id) > tuple_(*after))
    return statement


async def open_slots(
    uow: UnitOfWork,
    *,
    specialization_id: int | None,
    starts_after: datetime | None,
    starts_before: datetime | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> Sequence[Slot]:
    """OPEN slots that start in the future, ordered by (starts_at, id), after a keyset cursor."""
    lower, upper = board_bounds(uow, starts_after, starts_before)
    statement = open_slots_statement(
        lower, upper=upper, specialization_id=specialization_id, after=after, limit=limit
    )
    return (await uow.db.execute(statement)).scalars().all()
