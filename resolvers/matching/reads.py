"""Reading the matching queue: the viewer's ticket, its place in the queue and estimated wait, and
the matches a member takes part in (docs/product.md, rule 24)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, text, tuple_

from app.core.enums import MatchTicketStatus, Role
from db.models import Match, MatchTicket, User
from resolvers.unit_of_work import UnitOfWork

# The estimate looks at the specialization's recent matches of the same duration: the median time the
# earlier ticket of each waited, over the last RECENT_MATCHES matches of the last RECENT_WINDOW.
RECENT_MATCHES = 50
RECENT_WINDOW = timedelta(hours=24)
MEDIAN_WAIT = text(
    """
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY waited) FROM (
        SELECT max(extract(epoch FROM matched_at - created_at)) AS waited
        FROM match_tickets
        WHERE specialization_id = :specialization_id AND duration_minutes = :duration_minutes
          AND status = 'MATCHED' AND matched_at > :since
        GROUP BY match_id
        ORDER BY max(matched_at) DESC
        LIMIT :recent
    ) AS recent
    """
)


def shown_status(ticket: MatchTicket, now: datetime) -> MatchTicketStatus:
    """The ticket's status as of `now`: a WAITING ticket whose wait ran out is EXPIRED, although the
    row says so only once the member joins or leaves again (expiry is checked on read)."""
    status = MatchTicketStatus(ticket.status)
    if status == MatchTicketStatus.WAITING and ticket.expires_at <= now:
        return MatchTicketStatus.EXPIRED
    return status


async def current_ticket(uow: UnitOfWork, actor: User) -> MatchTicket | None:
    """The member's latest ticket, whatever its status (None when they never joined)."""
    statement = (
        select(MatchTicket).where(MatchTicket.user_id == actor.id).order_by(MatchTicket.id.desc()).limit(1)
    )
    row: MatchTicket | None = (await uow.db.execute(statement)).scalars().first()
    if row is not None:
        uow.loaders.match_ticket.prime(row.id, row)
    return row


async def visible_tickets(
    uow: UnitOfWork, actor: User | None, ids: Sequence[int]
) -> list[MatchTicket | None]:
    """Tickets by id, None for those that are not the actor's (admins see all)."""
    rows = await uow.loaders.match_ticket.load_many(ids)
    return [row if row is not None and _may_see(actor, row.user_id) else None for row in rows]


async def queue_position(uow: UnitOfWork, ticket: MatchTicket) -> int | None:
    """1 for the earliest waiting ticket of its specialization and duration; None unless waiting."""
    now = uow.now()
    if shown_status(ticket, now) != MatchTicketStatus.WAITING:
        return None
    ahead = await uow.db.execute(
        select(func.count()).where(
            MatchTicket.status == MatchTicketStatus.WAITING,
            MatchTicket.specialization_id == ticket.specialization_id,
            MatchTicket.duration_minutes == ticket.duration_minutes,
            MatchTicket.expires_at > now,
            tuple_(MatchTicket.created_at, MatchTicket.id) < tuple_(ticket.created_at, ticket.id),
        )
    )
    return int(ahead.scalar_one()) + 1


async def estimated_wait_seconds(uow: UnitOfWork, ticket: MatchTicket) -> int | None:
    """Seconds still to wait: the median wait of recent matches (above) minus what the ticket has
    waited, at least 0 and at most until it expires. None unless waiting, or with no recent match."""
    now = uow.now()
    if shown_status(ticket, now) != MatchTicketStatus.WAITING:
        return None
    median = (
        await uow.db.execute(
            MEDIAN_WAIT,
            {
                "specialization_id": ticket.specialization_id,
                "duration_minutes": ticket.duration_minutes,
                "since": now - RECENT_WINDOW,
                "recent": RECENT_MATCHES,
            },
        )
    ).scalar_one()
    if median is None:
        return None
    waited = (now - ticket.created_at).total_seconds()
    left = (ticket.expires_at - now).total_seconds()
    return round(max(0.0, min(float(median) - waited, left)))


async def visible_match(uow: UnitOfWork, actor: User | None, match_id: int) -> Match | None:
    """The match when the actor is one of its two members (or an admin)."""
    row = await uow.loaders.match.load(match_id)
    if row is None or actor is None:
        return None
    tickets = await uow.loaders.match_tickets.load(match_id)
    if actor.role == Role.ADMIN or any(t.user_id == actor.id for t in tickets):
        return row
    return None


async def partner_id(uow: UnitOfWork, match_id: int, member_id: int) -> int | None:
    """The other member of a match."""
    tickets = await uow.loaders.match_tickets.load(match_id)
    return next((t.user_id for t in tickets if t.user_id != member_id), None)


def _may_see(actor: User | None, owner_id: int) -> bool:
    return actor is not None and (actor.id == owner_id or actor.role == Role.ADMIN)
