"""Batched reads of the matching queue: tickets, matches and the tickets of each match. No permission
checks: callers decide."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from db.models import Match, MatchTicket

if TYPE_CHECKING:
    from db.session import Db


async def load_match_tickets(db: Db, ids: Sequence[int]) -> list[MatchTicket | None]:
    rows = (await db.execute(select(MatchTicket).where(MatchTicket.id.in_(ids)))).scalars()
    found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]


async def load_matches(db: Db, ids: Sequence[int]) -> list[Match | None]:
    rows = (await db.execute(select(Match).where(Match.id.in_(ids)))).scalars()
    found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]


async def load_tickets_of_matches(db: Db, match_ids: Sequence[int]) -> list[list[MatchTicket]]:
    """Each match's two tickets, earlier arrival first."""
    statement = (
        select(MatchTicket)
        .where(MatchTicket.match_id.in_(match_ids))
        .order_by(MatchTicket.created_at, MatchTicket.id)
    )
    grouped: defaultdict[int, list[MatchTicket]] = defaultdict(list)
    for row in (await db.execute(statement)).scalars():
        if row.match_id is not None:
            grouped[row.match_id].append(row)
    return [grouped.get(i, []) for i in match_ids]
