"""Booking a slot, and reading the interviews a member takes part in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, any_, or_, select, tuple_

from app.core.enums import InterviewStatus, LedgerKind, NotificationKind, SlotEventKind, SlotStatus
from app.core.errors import Conflict, Forbidden, NotFound
from dataloaders import forget
from db.expressions import text_array
from db.models import Interview, Slot, User
from resolvers import events, notifications
from resolvers.accounts.sessions import blocked_error
from resolvers.integrity import EXCLUSION_VIOLATION, UNIQUE_VIOLATION, flush_or_conflict
from resolvers.interviews.access import can_view_interview
from resolvers.points import change_balance
from resolvers.unit_of_work import UnitOfWork


async def book_slot(uow: UnitOfWork, actor: User, slot_id: int) -> Interview:
    """Book a slot for the actor: create the interview, spend the booking cost, mark it BOOKED.

    The slot row lock serialises competing bookings; the partial unique index on active
    interviews and the candidate exclusion constraint are the database's backstop. Booking your
    own slot is FORBIDDEN; a past, booked or withdrawn slot is a CONFLICT. A retry by the same
    candidate returns the interview it already holds without spending again.
    """
    now = uow.now()
    async with uow.db.transaction() as session:
        slot = await session.scalar(select(Slot).where(Slot.id == slot_id).with_for_update())
        if slot is None:
            raise NotFound("No Slot with this ID.")
        existing = await session.scalar(
            select(Interview).where(
                Interview.slot_id == slot.id,
                Interview.candidate_id == actor.id,
                Interview.status != InterviewStatus.CANCELLED,
            )
        )
        if existing is not None:
            return existing
        if slot.host_id == actor.id:
            raise Forbidden("You cannot book your own slot.")
        if slot.status != SlotStatus.OPEN:
            raise Conflict("This slot is no longer available.")
        if slot.starts_at <= now:
            raise Conflict("This slot has already started.")
        host = await session.get(User, slot.host_id, populate_existing=True)
        if host is None or blocked_error(host, now) is not None:
            # A block withdraws the host's slots (docs/product.md, rule 18); this is the backstop
            # for one published meanwhile. Whether a member is blocked is for staff to see only.
            raise Conflict("This slot is no longer available.")
        interview = Interview(
            slot_id=slot.id,
            interviewer_id=slot.host_id,
            candidate_id=actor.id,
            specialization_id=slot.specialization_id,
            status=InterviewStatus.SCHEDULED,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            updated_at=now,
        )
        session.add(interview)
        await flush_or_conflict(
            session,
            {
                EXCLUSION_VIOLATION: "You already have an interview at this time.",
                UNIQUE_VIOLATION: "This slot is no longer available.",
            },
        )
        cost = uow.settings.booking_cost_points
        if cost > 0:
            await change_balance(
                session,
                actor.id,
                -cost,
                LedgerKind.SPEND,
                reason="Booking",
                interview_id=interview.id,
                uow=uow,
            )
        slot.status = SlotStatus.BOOKED
        payload = notifications.interview_payload(interview)
        await notifications.notify(session, slot.host_id, NotificationKind.BOOKED, payload, uow)
        await notifications.notify(session, actor.id, NotificationKind.BOOKING_CONFIRMED, payload, uow)
        events.announce_slot(uow, SlotEventKind.BOOKED, slot.id)
        events.announce_interview(uow, interview.id)
    forget(uow.loaders.slot, slot_id)
    forget(uow.loaders.slot_active_interview, slot_id)
    forget(uow.loaders.user, actor.id)
    return interview


async def get_interview(uow: UnitOfWork, actor: User | None, interview_id: int) -> Interview | None:
    """The interview when the actor may see it, else None."""
    row = await uow.loaders.interview.load(interview_id)
    return row if row is not None and can_view_interview(actor, row) else None


def my_interviews_statement(
    viewer_id: Any, *, statuses: Any, include_archived: bool, after: Any, limit: Any
) -> Select[Any]:
    """A member's interviews in either role, newest start first (keyset on starts_at, id)."""
    as_interviewer = Interview.interviewer_id == viewer_id
    as_candidate = Interview.candidate_id == viewer_id
    if include_archived:
        mine = or_(as_interviewer, as_candidate)
    else:
        mine = or_(
            and_(as_interviewer, Interview.archived_by_interviewer.is_(False)),
            and_(as_candidate, Interview.archived_by_candidate.is_(False)),
        )
    statement = (
        select(Interview).where(mine).order_by(Interview.starts_at.desc(), Interview.id.desc()).limit(limit)
    )
    if statuses is not None:
        statement = statement.where(Interview.status == any_(text_array(statuses)))
    if after is not None:
        statement = statement.where(tuple_(Interview.starts_at, Interview.id) < tuple_(*after))
    return statement


async def my_interviews(
    uow: UnitOfWork,
    actor: User,
    *,
    statuses: Sequence[str] | None,
    include_archived: bool,
    after: tuple[datetime, int] | None,
    limit: int,
) -> Sequence[Interview]:
    """The actor's interviews in either role, newest start first (keyset on starts_at, id)."""
    statement = my_interviews_statement(
        actor.id, statuses=statuses or None, include_archived=include_archived, after=after, limit=limit
    )
    rows = (await uow.db.execute(statement)).scalars().all()
    for row in rows:
        uow.loaders.interview.prime(row.id, row)
    return rows
