"""Joining and leaving the matching queue (docs/product.md, rule 24)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import MatchLevel, MatchRole, MatchTicketStatus
from app.core.errors import BadUserInput, Conflict, InsufficientPoints, NotFound
from dataloaders import forget
from db.models import MatchTicket, Specialization, User
from db.models.matching import MAX_DURATION_MINUTES, MAX_LANGUAGE_LENGTH, MIN_DURATION_MINUTES
from resolvers import validation
from resolvers.accounts.sessions import blocked_error
from resolvers.integrity import UNIQUE_VIOLATION, flush_or_conflict
from resolvers.matching.pairing import pair
from resolvers.matching.planning import Side, busy
from resolvers.slots import video_link
from resolvers.unit_of_work import UnitOfWork

ALREADY_WAITING = "You are already waiting in the queue; leave it first to join with other choices."
# One lock per specialization's queue: pairings of one specialization run one at a time, each seeing
# every ticket committed before it (so two members joining at once cannot both miss each other).
QUEUE_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('match-queue', :specialization_id))")


@dataclass(frozen=True)
class JoinRequest:
    specialization_id: int
    role: MatchRole
    duration_minutes: int
    language: str | None = None
    level: MatchLevel | None = None
    video_link: str | None = None


def checked(request: JoinRequest) -> JoinRequest:
    """The request with its language trimmed and lower-cased and its link checked."""
    if not MIN_DURATION_MINUTES <= request.duration_minutes <= MAX_DURATION_MINUTES:
        raise BadUserInput(
            f"`durationMinutes` must be {MIN_DURATION_MINUTES}-{MAX_DURATION_MINUTES}.",
            field="durationMinutes",
        )
    language = request.language
    if language is not None:
        language = validation.text(language, "language", min_length=0, max_length=MAX_LANGUAGE_LENGTH).lower()
    link = video_link(request.video_link) if request.video_link is not None else None
    return JoinRequest(
        specialization_id=request.specialization_id,
        role=MatchRole(request.role),
        duration_minutes=request.duration_minutes,
        language=language or None,
        level=MatchLevel(request.level) if request.level is not None else None,
        video_link=link,
    )


async def join_queue(uow: UnitOfWork, actor: User, request: JoinRequest) -> MatchTicket:
    """Join the queue and get paired at once with the earliest compatible member if one waits.

    A member waits with one ticket at a time (joining again with the same choices returns it; with
    others, CONFLICT). A CANDIDATE needs the booking cost in points (INSUFFICIENT_POINTS); EITHER
    without points is only paired as the interviewer. Blocked: FORBIDDEN; an unknown specialization:
    BAD_USER_INPUT; an archived one, or an interview or slot of the member's right now: CONFLICT.
    """
    wanted = checked(request)
    now = uow.now()
    async with uow.db.transaction() as session:
        user = await _locked_member(session, actor.id, now)
        existing = await _waiting_ticket(session, user.id, now)
        if existing is not None:
            if _same_choices(existing, wanted):
                return existing
            raise Conflict(ALREADY_WAITING)
        await _open_specialization(session, wanted.specialization_id)
        cost = uow.settings.booking_cost_points
        if wanted.role == MatchRole.CANDIDATE and user.points_balance < cost:
            raise InsufficientPoints("Not enough points to be interviewed.", needed=cost)
        end = now + timedelta(minutes=wanted.duration_minutes)
        if await session.scalar(select(busy(user.id, now, end))):
            raise Conflict("You have an interview or a slot at this time.")
        await session.execute(QUEUE_LOCK, {"specialization_id": wanted.specialization_id})
        # Arrival is when the queue let this member in, so arrival order is the order of pairing.
        ticket = _new_ticket(uow, user.id, wanted, uow.now())
        session.add(ticket)
        await flush_or_conflict(session, {UNIQUE_VIOLATION: ALREADY_WAITING})
        match = await pair(session, uow, Side(ticket, user))
    if match is not None:
        forget(uow.loaders.user, actor.id)
    return ticket


async def leave_queue(uow: UnitOfWork, actor: User) -> bool:
    """Leave the queue: the waiting ticket is CANCELLED. False when the member was not waiting (never
    joined, already matched, expired)."""
    now = uow.now()
    async with uow.db.transaction() as session:
        await _expire_own(session, actor.id, now)
        left = await session.scalar(
            update(MatchTicket)
            .where(MatchTicket.user_id == actor.id, MatchTicket.status == MatchTicketStatus.WAITING)
            .values(status=MatchTicketStatus.CANCELLED, closed_at=now)
            .returning(MatchTicket.id)
        )
    if left is not None:
        forget(uow.loaders.match_ticket, left)
    return left is not None


async def _locked_member(session: AsyncSession, user_id: int, now: datetime) -> User:
    """The member's row, locked: their joins run one at a time, and their balance holds still."""
    user = await session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None:
        raise NotFound("No User with this ID.")
    refusal = blocked_error(user, now)
    if refusal is not None:
        raise refusal
    return user


async def _expire_own(session: AsyncSession, user_id: int, now: datetime) -> None:
    """Record the expiry of the member's ticket whose wait ran out (reads already show it EXPIRED)."""
    await session.execute(
        update(MatchTicket)
        .where(
            MatchTicket.user_id == user_id,
            MatchTicket.status == MatchTicketStatus.WAITING,
            MatchTicket.expires_at <= now,
        )
        .values(status=MatchTicketStatus.EXPIRED, closed_at=MatchTicket.expires_at)
    )


async def _waiting_ticket(session: AsyncSession, user_id: int, now: datetime) -> MatchTicket | None:
    await _expire_own(session, user_id, now)
    return await session.scalar(
        select(MatchTicket).where(
            MatchTicket.user_id == user_id, MatchTicket.status == MatchTicketStatus.WAITING
        )
    )


async def _open_specialization(session: AsyncSession, specialization_id: int) -> None:
    """The specialization exists and is not archived. FOR SHARE: an archiving that commits first is
    seen here; one that comes later waits for this ticket."""
    specialization = await session.scalar(
        select(Specialization).where(Specialization.id == specialization_id).with_for_update(read=True)
    )
    if specialization is None:
        raise BadUserInput("Unknown specialization.", field="specializationId")
    if specialization.archived_at is not None:
        raise Conflict("This specialization is archived.", field="specializationId")


def _same_choices(ticket: MatchTicket, wanted: JoinRequest) -> bool:
    return (
        ticket.specialization_id == wanted.specialization_id
        and ticket.role == wanted.role
        and ticket.duration_minutes == wanted.duration_minutes
        and ticket.language == wanted.language
        and ticket.level == wanted.level
    )


def _new_ticket(uow: UnitOfWork, user_id: int, wanted: JoinRequest, now: datetime) -> MatchTicket:
    return MatchTicket(
        user_id=user_id,
        specialization_id=wanted.specialization_id,
        role=wanted.role,
        language=wanted.language,
        level=wanted.level,
        duration_minutes=wanted.duration_minutes,
        video_link=wanted.video_link,
        status=MatchTicketStatus.WAITING,
        created_at=now,
        expires_at=now + timedelta(seconds=uow.settings.match_ticket_ttl_seconds),
    )
