"""Who interviews whom when two tickets are paired, and which waiting tickets could be a partner at
all. Pure rules, no writes (docs/product.md, rule 24)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from app.core.enums import InterviewStatus, MatchRole, MatchTicketStatus, SlotStatus
from db.models import Interview, MatchTicket, Slot, User

CAN_INTERVIEW = (MatchRole.INTERVIEWER, MatchRole.EITHER)
CAN_BE_INTERVIEWED = (MatchRole.CANDIDATE, MatchRole.EITHER)


@dataclass(frozen=True)
class Side:
    """One ticket of a pair, with its member's row as locked for the pairing (a fresh balance)."""

    ticket: MatchTicket
    user: User

    def can_interview(self) -> bool:
        return self.ticket.role in CAN_INTERVIEW

    def can_be_interviewed(self, cost: int) -> bool:
        return self.ticket.role in CAN_BE_INTERVIEWED and self.user.points_balance >= cost


# (interviewer, candidate) of one interview.
Pairing = tuple[Side, Side]


def plan_interviews(joiner: Side, partner: Side, cost: int) -> list[Pairing]:
    """The interviews of a match, in order; empty when the two cannot be paired.

    Two members who both chose EITHER and can both pay get two interviews with the roles swapped;
    the one who waited longer (the partner) is interviewed first. Otherwise one interview, whose
    candidate is whichever side may be interviewed (EITHER without points only interviews).
    """
    if joiner.can_interview() and partner.can_be_interviewed(cost):
        first = (joiner, partner)
        both_either = joiner.ticket.role == partner.ticket.role == MatchRole.EITHER
        if both_either and joiner.can_be_interviewed(cost):
            return [first, (partner, joiner)]
        return [first]
    if joiner.can_be_interviewed(cost) and partner.can_interview():
        return [(partner, joiner)]
    return []


def busy(user_id: InstrumentedAttribute[int] | int, start: datetime, end: datetime) -> ColumnElement[bool]:
    """The member hosts a slot or takes part in an active interview overlapping [start, end): the
    exclusion constraints of slots and interviews would refuse the match's interview."""
    hosting = exists(
        select(Slot.id).where(
            Slot.host_id == user_id,
            Slot.status != SlotStatus.WITHDRAWN,
            Slot.starts_at < end,
            Slot.ends_at > start,
        )
    )
    taking_part = exists(
        select(Interview.id).where(
            or_(Interview.candidate_id == user_id, Interview.interviewer_id == user_id),
            Interview.status.in_((InterviewStatus.SCHEDULED, InterviewStatus.IN_PROGRESS)),
            Interview.starts_at < end,
            Interview.ends_at > start,
        )
    )
    return or_(hosting, taking_part)


def _same_or_any(column: InstrumentedAttribute[str | None], value: str | None) -> ColumnElement[bool]:
    """An unset language or level matches any; two set ones must be equal."""
    return true() if value is None else or_(column.is_(None), column == value)


def _partner_roles(ticket: MatchTicket, joiner_can_pay: bool, cost: int) -> ColumnElement[bool]:
    """Partner tickets whose role complements the joiner's, counting who can pay to be interviewed."""
    options: list[ColumnElement[bool]] = []
    if ticket.role in CAN_INTERVIEW:
        options.append(and_(MatchTicket.role.in_(CAN_BE_INTERVIEWED), User.points_balance >= cost))
    if ticket.role in CAN_BE_INTERVIEWED and joiner_can_pay:
        options.append(MatchTicket.role.in_(CAN_INTERVIEW))
    return or_(*options) if options else false()


def compatible(
    ticket: MatchTicket, *, joiner_can_pay: bool, cost: int, now: datetime
) -> list[ColumnElement[bool]]:
    """Conditions on waiting tickets (joined with their members) that could pair with `ticket`: same
    specialization and duration, language and level compatible, roles complementary, another member
    who is not blocked and is free for the interview, not expired."""
    end = now + ticket_duration(ticket)
    return [
        MatchTicket.status == MatchTicketStatus.WAITING,
        MatchTicket.specialization_id == ticket.specialization_id,
        MatchTicket.duration_minutes == ticket.duration_minutes,
        MatchTicket.expires_at > now,
        MatchTicket.user_id != ticket.user_id,
        or_(User.blocked_at.is_(None), and_(User.blocked_until.is_not(None), User.blocked_until <= now)),
        _same_or_any(MatchTicket.language, ticket.language),
        _same_or_any(MatchTicket.level, ticket.level),
        _partner_roles(ticket, joiner_can_pay, cost),
        ~busy(MatchTicket.user_id, now, end),
    ]


def ticket_duration(ticket: MatchTicket) -> timedelta:
    return timedelta(minutes=ticket.duration_minutes)
