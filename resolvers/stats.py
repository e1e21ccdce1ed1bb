"""Platform figures for admins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from db.models import User
from db.models.marketplace import Interview
from resolvers.unit_of_work import UnitOfWork

INTERVIEW_STATUSES = ("SCHEDULED", "IN_PROGRESS", "COMPLETED", "CANCELLED", "NO_SHOW")


@dataclass
class PlatformStats:
    members: int
    blocked_members: int
    interviews_by_status: dict[str, int]
    points_in_circulation: int
    no_show_rate: float


async def platform_stats(uow: UnitOfWork) -> PlatformStats:
    """Members, interviews per status, the sum of all balances and the no-show rate.

    The no-show rate is NO_SHOW / (COMPLETED + NO_SHOW): the share of interviews that were due to
    happen and did not; 0.0 before any interview has finished.
    """
    now = uow.now()
    blocked_now = User.blocked_at.is_not(None) & (User.blocked_until.is_(None) | (User.blocked_until > now))
    members_row: Any = (
        await uow.db.execute(
            select(
                func.count(),
                func.count().filter(blocked_now),
                func.coalesce(func.sum(User.points_balance), 0),
            ).select_from(User)
        )
    ).one()
    statement = select(Interview.status, func.count()).group_by(Interview.status)
    rows: list[Any] = list((await uow.db.execute(statement)).all())
    by_status = dict.fromkeys(INTERVIEW_STATUSES, 0)
    for status, count in rows:
        by_status[str(status)] = int(count)
    finished = by_status["COMPLETED"] + by_status["NO_SHOW"]
    return PlatformStats(
        members=int(members_row[0]),
        blocked_members=int(members_row[1]),
        interviews_by_status=by_status,
        points_in_circulation=int(members_row[2]),
        no_show_rate=by_status["NO_SHOW"] / finished if finished else 0.0,
    )
