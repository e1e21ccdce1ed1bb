"""An interview's lifecycle: cancel, start, complete, archive, report and resolve no-shows
(docs/product.md, "Interview lifecycle")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import FINISHED_STATUSES as FINISHED
from app.core.enums import (
    STAFF_ROLES,
    InterviewStatus,
    LedgerKind,
    NoShowStatus,
    NotificationKind,
    SlotEventKind,
    SlotStatus,
)
from app.core.errors import Conflict, Forbidden, NotFound
from dataloaders import forget
from db.models import Interview, NoShowReport, PointsEntry, Slot, User
from resolvers import audit, events, notifications, validation
from resolvers.integrity import UNIQUE_VIOLATION, flush_or_conflict
from resolvers.points import change_balance
from resolvers.unit_of_work import UnitOfWork


async def lock_interview(session: AsyncSession, viewer: User, interview_id: int) -> Interview:
    """The interview row, locked; NOT_FOUND for members who are not participants.

    Staff may see any interview, so for them a non-participant action is FORBIDDEN instead.
    """
    interview = await session.scalar(select(Interview).where(Interview.id == interview_id).with_for_update())
    if interview is None:
        raise NotFound("No Interview with this ID.")
    if viewer.id not in (interview.interviewer_id, interview.candidate_id):
        if viewer.role in STAFF_ROLES:
            raise Forbidden("Only the participants can do this.")
        raise NotFound("No Interview with this ID.")
    return interview


async def refund_booking(
    session: AsyncSession, interview: Interview, reason: str, *, uow: UnitOfWork | None
) -> None:
    """Give the candidate back exactly what the booking cost, once: a booking already refunded is
    left alone (and the unique index per interview and kind is the backstop, docs/product.md, rule 3).
    The candidate is notified through `uow` (only fixtures pass None)."""
    entries = await session.execute(
        select(PointsEntry.kind, PointsEntry.amount).where(
            PointsEntry.interview_id == interview.id,
            PointsEntry.kind.in_((LedgerKind.SPEND, LedgerKind.REFUND)),
        )
    )
    amounts: dict[str, int] = dict(entries.all())
    spent = amounts.get(LedgerKind.SPEND)
    if spent and LedgerKind.REFUND not in amounts:
        await change_balance(
            session,
            interview.candidate_id,
            -spent,
            LedgerKind.REFUND,
            reason=reason,
            interview_id=interview.id,
            uow=uow,
        )


def _forget(uow: UnitOfWork, interview: Interview) -> None:
    forget(uow.loaders.interview, interview.id)
    forget(uow.loaders.slot, interview.slot_id)
    forget(uow.loaders.slot_active_interview, interview.slot_id)
    forget(uow.loaders.user, interview.candidate_id)
    forget(uow.loaders.user, interview.interviewer_id)


async def cancel_interview(uow: UnitOfWork, actor: User, interview_id: int, reason: str | None) -> Interview:
    """Cancel a scheduled interview: the candidate until the cutoff, the interviewer until the start
    (docs/product.md, rule 9).

    The candidate is refunded either way; the interviewer's cancellation is kept in
    `cancelled_by_id` for their reliability record. The slot reopens when it is still ahead.
    """
    now = uow.now()
    clean_reason = validation.text(reason, "reason", min_length=0, max_length=500) if reason else None
    async with uow.db.transaction() as session:
        interview = await lock_interview(session, actor, interview_id)
        if interview.status != InterviewStatus.SCHEDULED:
            raise Conflict(f"A {interview.status} interview cannot be cancelled.")
        if now >= interview.starts_at:
            raise Conflict("The interview has already started.")
        is_candidate = actor.id == interview.candidate_id
        cutoff = interview.starts_at - timedelta(minutes=uow.settings.cancellation_cutoff_minutes)
        if is_candidate and now > cutoff:
            raise Conflict(
                "Too late to cancel: the cancellation cutoff has passed.", cutoff=cutoff.isoformat()
            )
        interview.status = InterviewStatus.CANCELLED
        interview.cancelled_at = now
        interview.cancelled_by_id = actor.id
        interview.cancel_reason = clean_reason or None
        interview.updated_at = now
        await session.flush()
        # Slot before the balance row: the same lock order as bookSlot, so the two cannot deadlock.
        slot = await session.scalar(select(Slot).where(Slot.id == interview.slot_id).with_for_update())
        if slot is not None and slot.status == SlotStatus.BOOKED and slot.starts_at > now:
            slot.status = SlotStatus.OPEN
            events.announce_slot(uow, SlotEventKind.REOPENED, slot.id)
        await refund_booking(session, interview, "Interview cancelled", uow=uow)
        other = interview.interviewer_id if is_candidate else interview.candidate_id
        payload = notifications.interview_payload(interview, reason=interview.cancel_reason)
        await notifications.notify(session, other, NotificationKind.CANCELLED, payload, uow)
        events.announce_interview(uow, interview.id)
    _forget(uow, interview)
    return interview


BLOCK_CANCEL_REASON = "Cancelled by moderation: a participant's account was blocked."


@dataclass
class MemberSchedule:
    """What a block takes off the calendar, row-locked: the member's SCHEDULED interviews (either
    role), their slots, and the OPEN or BOOKED slots ahead that the member hosts."""

    member_id: int
    interviews: dict[int, Interview] = field(default_factory=dict)
    slots: dict[int, Slot] = field(default_factory=dict)


async def lock_member_schedule(session: AsyncSession, member_id: int, now: datetime) -> MemberSchedule:
    """Lock what blocking a member cancels and withdraws (docs/product.md, rule 18).

    Interviews before slots, each in id order: the order of `cancel_interview`, so a cancellation
    and a block wait for each other instead of deadlocking. A booking of the member's slot that
    commits while this waits for the slot's lock leaves that slot BOOKED with an interview not seen
    yet: one more look at the interviews finds it (`book_slot` refuses blocked hosts' slots too).
    """
    schedule = MemberSchedule(member_id)
    involved = or_(Interview.interviewer_id == member_id, Interview.candidate_id == member_id)
    hosted_ahead = and_(
        Slot.host_id == member_id,
        Slot.status.in_((SlotStatus.OPEN, SlotStatus.BOOKED)),
        Slot.starts_at > now,
    )
    for look in range(3):
        interviews = await session.scalars(
            select(Interview)
            .where(involved, Interview.status == InterviewStatus.SCHEDULED)
            .where(Interview.id.not_in(list(schedule.interviews)))
            .order_by(Interview.id)
            .with_for_update()
        )
        found = {row.id: row for row in interviews}
        if look and not found:
            break
        schedule.interviews.update(found)
        slots = await session.scalars(
            select(Slot)
            .where(or_(Slot.id.in_([row.slot_id for row in found.values()]), hosted_ahead))
            .where(Slot.id.not_in(list(schedule.slots)))
            .order_by(Slot.id)
            .with_for_update()
        )
        locked = list(slots)
        schedule.slots.update((slot.id, slot) for slot in locked)
        booked = {row.slot_id for row in schedule.interviews.values()}
        if not any(slot.status == SlotStatus.BOOKED and slot.id not in booked for slot in locked):
            break
    return schedule


async def cancel_member_schedule(
    uow: UnitOfWork, session: AsyncSession, schedule: MemberSchedule, now: datetime
) -> tuple[int, int]:
    """Cancel a blocked member's locked interviews and take their slots off the board
    (docs/product.md, rule 18); the number of interviews cancelled and of slots withdrawn.

    Each candidate is refunded once (`refund_booking`) and the other participant gets a CANCELLED
    notification. The member's slots are WITHDRAWN; another host's slot the member had booked
    reopens when it is still ahead, as after a cancellation. Nobody's reliability record counts it.
    """
    member_id = schedule.member_id
    for interview in schedule.interviews.values():
        interview.status = InterviewStatus.CANCELLED
        interview.cancelled_at = now
        interview.cancel_reason = BLOCK_CANCEL_REASON
        interview.updated_at = now
    await session.flush()
    cancelled_slots = {interview.slot_id for interview in schedule.interviews.values()}
    withdrawn = 0
    for slot in schedule.slots.values():
        freed = slot.status == SlotStatus.BOOKED and slot.id in cancelled_slots
        if slot.host_id == member_id and (freed or slot.status == SlotStatus.OPEN):
            slot.status = SlotStatus.WITHDRAWN
            withdrawn += 1
            events.announce_slot(uow, SlotEventKind.WITHDRAWN, slot.id)
        elif freed and slot.starts_at > now:
            slot.status = SlotStatus.OPEN
            events.announce_slot(uow, SlotEventKind.REOPENED, slot.id)
        forget(uow.loaders.slot, slot.id)
    for interview in schedule.interviews.values():
        await refund_booking(session, interview, "Interview cancelled: a participant was blocked", uow=uow)
        other = interview.candidate_id if interview.interviewer_id == member_id else interview.interviewer_id
        payload = notifications.interview_payload(interview, reason=interview.cancel_reason)
        await notifications.notify(session, other, NotificationKind.CANCELLED, payload, uow)
        events.announce_interview(uow, interview.id)
        _forget(uow, interview)
    return len(schedule.interviews), withdrawn


async def start_interview(uow: UnitOfWork, actor: User, interview_id: int) -> Interview:
    """Either participant starts it, from `start_window_minutes` before start until its end.

    Starting an interview that is already in progress is a harmless no-op, so both sides may
    press "start".
    """
    now = uow.now()
    async with uow.db.transaction() as session:
        interview = await lock_interview(session, actor, interview_id)
        opens = interview.starts_at - timedelta(minutes=uow.settings.start_window_minutes)
        if interview.status not in (InterviewStatus.SCHEDULED, InterviewStatus.IN_PROGRESS):
            raise Conflict(f"A {interview.status} interview cannot be started.")
        if now < opens:
            raise Conflict("Too early to start this interview.", opensAt=opens.isoformat())
        if now >= interview.ends_at:
            raise Conflict("This interview's time is over.")
        if interview.status == InterviewStatus.SCHEDULED:
            interview.status = InterviewStatus.IN_PROGRESS
            interview.started_at = now
            interview.updated_at = now
            other = (
                interview.candidate_id if actor.id == interview.interviewer_id else interview.interviewer_id
            )
            payload = notifications.interview_payload(interview)
            await notifications.notify(session, other, NotificationKind.INTERVIEW_STARTED, payload, uow)
            events.announce_interview(uow, interview.id)
    _forget(uow, interview)
    return interview


async def complete_interview(uow: UnitOfWork, actor: User, interview_id: int) -> Interview:
    """The interviewer completes a started interview and is rewarded once (docs/product.md, rule 10).

    Not before `complete_after_minutes` after the scheduled start: no reward for an interview that
    cannot have taken place (a host completing a throwaway account's booking a second after it
    starts).
    """
    now = uow.now()
    async with uow.db.transaction() as session:
        interview = await lock_interview(session, actor, interview_id)
        if actor.id != interview.interviewer_id:
            raise Forbidden("Only the interviewer can complete an interview.")
        if interview.status != InterviewStatus.IN_PROGRESS:
            raise Conflict(f"A {interview.status} interview cannot be completed.")
        minutes = uow.settings.complete_after_minutes
        opens = interview.starts_at + timedelta(minutes=minutes)
        if now < opens:
            raise Conflict(
                f"Too early to complete this interview: it can be completed {minutes} minutes after "
                "its scheduled start.",
                opensAt=opens.isoformat(),
            )
        interview.status = InterviewStatus.COMPLETED
        interview.completed_at = now
        interview.updated_at = now
        await session.flush()
        reward = uow.settings.interview_reward_points
        if reward > 0:
            await change_balance(
                session,
                interview.interviewer_id,
                reward,
                LedgerKind.REWARD,
                reason="Interview completed",
                interview_id=interview.id,
                uow=uow,
            )
        payload = notifications.interview_payload(interview)
        await notifications.notify(
            session, interview.candidate_id, NotificationKind.INTERVIEW_COMPLETED, payload, uow
        )
        events.announce_interview(uow, interview.id)
    _forget(uow, interview)
    return interview


async def archive_interview(uow: UnitOfWork, actor: User, interview_id: int) -> Interview:
    """Hide a finished interview from the actor's own list (the other side is unaffected)."""
    async with uow.db.transaction() as session:
        interview = await lock_interview(session, actor, interview_id)
        if interview.status not in FINISHED:
            raise Conflict("Only finished interviews can be archived.")
        if actor.id == interview.interviewer_id:
            interview.archived_by_interviewer = True
        else:
            interview.archived_by_candidate = True
        interview.updated_at = uow.now()
    _forget(uow, interview)
    return interview


async def report_no_show(uow: UnitOfWork, actor: User, interview_id: int, reason: str | None) -> NoShowReport:
    """A participant reports the other side as absent, from `no_show_report_after_minutes` after start."""
    now = uow.now()
    clean_reason = validation.text(reason, "reason", min_length=0, max_length=2000) if reason else None
    async with uow.db.transaction() as session:
        interview = await lock_interview(session, actor, interview_id)
        if interview.status not in (InterviewStatus.SCHEDULED, InterviewStatus.IN_PROGRESS):
            raise Conflict(f"A {interview.status} interview cannot be reported as a no-show.")
        opens = interview.starts_at + timedelta(minutes=uow.settings.no_show_report_after_minutes)
        if now < opens:
            raise Conflict("Too early to report a no-show.", opensAt=opens.isoformat())
        accused = interview.candidate_id if actor.id == interview.interviewer_id else interview.interviewer_id
        report = NoShowReport(
            interview_id=interview.id,
            reporter_id=actor.id,
            accused_id=accused,
            reason=clean_reason or None,
            status=NoShowStatus.OPEN,
        )
        session.add(report)
        await flush_or_conflict(
            session, {UNIQUE_VIOLATION: "A no-show report for this interview already exists."}
        )
        await session.refresh(report)
        payload = notifications.interview_payload(interview, reason=report.reason)
        await notifications.notify(session, accused, NotificationKind.NO_SHOW_REPORTED, payload, uow)
    return report


async def resolve_no_show(
    uow: UnitOfWork, actor: User, report_id: int, upheld: bool, note: str | None
) -> NoShowReport:
    """A moderator decides a report (docs/product.md, rule 11).

    Upheld against the candidate: NO_SHOW and the spent point is forfeited. Upheld against the
    interviewer: NO_SHOW, the candidate is refunded and the interviewer gets a strike.
    """
    now = uow.now()
    clean_note = validation.text(note, "note", min_length=0, max_length=2000) if note else None
    async with uow.db.transaction() as session:
        report = await session.scalar(
            select(NoShowReport).where(NoShowReport.id == report_id).with_for_update()
        )
        if report is None:
            raise NotFound("No NoShowReport with this ID.")
        if report.status != NoShowStatus.OPEN:
            raise Conflict("This report has already been resolved.")
        interview = await session.scalar(
            select(Interview).where(Interview.id == report.interview_id).with_for_update()
        )
        assert interview is not None  # foreign key
        if upheld:
            if interview.status not in (InterviewStatus.SCHEDULED, InterviewStatus.IN_PROGRESS):
                raise Conflict(f"The interview is already {interview.status}.")
            interview.status = InterviewStatus.NO_SHOW
            interview.no_show_user_id = report.accused_id
            interview.updated_at = now
            await session.flush()
            if report.accused_id == interview.interviewer_id:
                await refund_booking(session, interview, "Interviewer did not show up", uow=uow)
                await session.execute(
                    update(User).where(User.id == interview.interviewer_id).values(strikes=User.strikes + 1)
                )
            events.announce_interview(uow, interview.id)
        report.status = NoShowStatus.UPHELD if upheld else NoShowStatus.REJECTED
        report.resolver_id = actor.id
        report.note = clean_note or None
        report.resolved_at = now
        await audit.record(
            session,
            "no_show.resolved",
            actor_id=actor.id,
            target_type="NoShowReport",
            target_id=report.id,
            ip=uow.client_ip,
            upheld=upheld,
            accused=report.accused_id,
        )
        payload = notifications.interview_payload(interview, upheld=upheld, accused_id=report.accused_id)
        for user_id in (interview.interviewer_id, interview.candidate_id):
            await notifications.notify(session, user_id, NotificationKind.NO_SHOW_RESOLVED, payload, uow)
    _forget(uow, interview)
    forget(uow.loaders.no_show_report, report.id)
    return report


async def visible_no_show_reports(
    uow: UnitOfWork, actor: User | None, ids: Sequence[int]
) -> list[NoShowReport | None]:
    """No-show reports by id, None for those the actor may not see (only its reporter, the accused
    and staff)."""
    rows = await uow.loaders.no_show_report.load_many(ids)
    return [
        row
        if row is not None
        and actor is not None
        and (actor.id in (row.reporter_id, row.accused_id) or actor.role in STAFF_ROLES)
        else None
        for row in rows
    ]
