"""Pairing a ticket that just joined with the earliest compatible waiting one, in the joiner's
transaction (docs/product.md, rule 24).

The caller holds the specialization's queue lock, so every ticket committed before this one is
visible here and no two pairings of one specialization run at once. Partner tickets are taken FOR
UPDATE SKIP LOCKED in arrival order: one a member is leaving at this moment is passed over, not
waited for. Both tickets become MATCHED in the transaction that creates the interview(s), spends the
candidates' points and stores both notifications, so nobody is matched twice or half-matched.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import (
    InterviewStatus,
    LedgerKind,
    MatchRole,
    MatchTicketStatus,
    NotificationKind,
    SlotStatus,
)
from db.models import Interview, Match, MatchTicket, Slot, User
from resolvers import notifications
from resolvers.integrity import EXCLUSION_VIOLATION, UNIQUE_VIOLATION, integrity_sqlstate
from resolvers.matching.planning import Pairing, Side, busy, compatible, plan_interviews, ticket_duration
from resolvers.points import change_balance
from resolvers.unit_of_work import UnitOfWork

# Partners tried per join: each refusal (a race with a booking or a balance) passes to the next one.
MAX_ATTEMPTS = 5
MATCH_TITLE = "Instant match"


async def pair(session: AsyncSession, uow: UnitOfWork, joiner: Side) -> Match | None:
    """Pair `joiner` (its ticket flushed, its member row locked) with the earliest compatible waiting
    ticket; the match, or None when nobody fits (the ticket stays WAITING)."""
    now = uow.now()
    cost = uow.settings.booking_cost_points
    passed: list[int] = []
    for _ in range(MAX_ATTEMPTS):
        partner = await _next_partner(session, joiner, cost, now, passed)
        if partner is None:
            return None
        passed.append(partner.ticket.id)
        plan = await _trimmed(session, plan_interviews(joiner, partner, cost), joiner, now)
        if not plan:
            continue
        interviews = await _create_interviews(session, uow, plan, now)
        if interviews is None:
            continue
        return await _finish(session, uow, joiner, partner, interviews, now)
    return None


async def _next_partner(
    session: AsyncSession, joiner: Side, cost: int, now: datetime, passed: Sequence[int]
) -> Side | None:
    ticket = joiner.ticket
    conditions = compatible(ticket, joiner_can_pay=joiner.user.points_balance >= cost, cost=cost, now=now)
    if passed:
        conditions.append(MatchTicket.id.not_in(passed))
    statement = (
        select(MatchTicket)
        .join(User, User.id == MatchTicket.user_id)
        .where(*conditions)
        .order_by(MatchTicket.created_at, MatchTicket.id)
        .limit(1)
        .with_for_update(of=MatchTicket, skip_locked=True)
    )
    found = await session.scalar(statement)
    if found is None:
        return None
    # The balance as of now, locked: the spend below cannot fail, and the plan sees what it will spend.
    user = await session.get(User, found.user_id, with_for_update=True, populate_existing=True)
    return Side(found, user) if user is not None else None


async def _trimmed(session: AsyncSession, plan: list[Pairing], joiner: Side, now: datetime) -> list[Pairing]:
    """The plan, without its second interview when either member is busy right after the first."""
    if len(plan) < 2:
        return plan
    length = ticket_duration(joiner.ticket)
    start, end = now + length, now + 2 * length
    ids = [side.user.id for side in plan[0]]
    taken = await session.scalar(select(busy(ids[0], start, end) | busy(ids[1], start, end)))
    return plan[:1] if taken else plan


async def _create_interviews(
    session: AsyncSession, uow: UnitOfWork, plan: list[Pairing], now: datetime
) -> list[Interview] | None:
    """The plan's slots (booked at once, never on the board) and interviews, back to back from now;
    None when a constraint refuses one (a booking or slot that raced the busy check)."""
    created: list[Interview] = []
    try:
        async with session.begin_nested():
            for number, (interviewer, candidate) in enumerate(plan):
                created.append(await _interview(session, uow, interviewer, candidate, now, number))
    except IntegrityError as exc:
        if integrity_sqlstate(exc) not in (EXCLUSION_VIOLATION, UNIQUE_VIOLATION):
            raise
        return None
    return created


async def _interview(
    session: AsyncSession, uow: UnitOfWork, interviewer: Side, candidate: Side, now: datetime, number: int
) -> Interview:
    length = ticket_duration(interviewer.ticket)
    start = now + number * length
    link = interviewer.ticket.video_link or uow.settings.match_video_room_base_url + secrets.token_urlsafe(12)
    slot = Slot(
        host_id=interviewer.user.id,
        specialization_id=interviewer.ticket.specialization_id,
        starts_at=start,
        ends_at=start + length,
        duration_minutes=interviewer.ticket.duration_minutes,
        video_link=link,
        title=MATCH_TITLE,
        status=SlotStatus.BOOKED,
    )
    session.add(slot)
    await session.flush()
    interview = Interview(
        slot_id=slot.id,
        interviewer_id=interviewer.user.id,
        candidate_id=candidate.user.id,
        specialization_id=slot.specialization_id,
        status=InterviewStatus.SCHEDULED,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        # The first one starts now: MATCH_FOUND is its reminder. The second gets the usual one.
        reminder_sent_at=now if number == 0 else None,
        updated_at=now,
    )
    session.add(interview)
    await session.flush()
    return interview


async def _finish(
    session: AsyncSession,
    uow: UnitOfWork,
    joiner: Side,
    partner: Side,
    interviews: list[Interview],
    now: datetime,
) -> Match:
    """Mark both tickets MATCHED, spend each candidate's point, notify both sides (after commit)."""
    match = Match(
        specialization_id=joiner.ticket.specialization_id,
        first_interview_id=interviews[0].id,
        second_interview_id=interviews[1].id if len(interviews) > 1 else None,
        created_at=now,
    )
    session.add(match)
    await session.flush()
    for side in (partner, joiner):
        side.ticket.status = MatchTicketStatus.MATCHED
        side.ticket.match_id = match.id
        side.ticket.matched_at = now
    await session.flush()
    cost = uow.settings.booking_cost_points
    for interview in interviews:
        if cost > 0:
            await change_balance(
                session,
                interview.candidate_id,
                -cost,
                LedgerKind.SPEND,
                reason=MATCH_TITLE,
                interview_id=interview.id,
                uow=uow,
            )
    for side, other in ((partner, joiner), (joiner, partner)):
        payload = _payload(interviews, side.user.id, other.user.display_name)
        await notifications.notify(session, side.user.id, NotificationKind.MATCH_FOUND, payload, uow)
        uow.publish_after_commit(uow.channels.matches(side.user.id), {"match_id": match.id})
    return match


def _payload(interviews: list[Interview], user_id: int, partner_name: str) -> dict[str, object]:
    first = interviews[0]
    role = MatchRole.INTERVIEWER if first.interviewer_id == user_id else MatchRole.CANDIDATE
    return notifications.interview_payload(
        first, role=role.value, interviews=len(interviews), partner=partner_name
    )
