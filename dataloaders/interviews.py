"""Batched reads of interviews, their active booking per slot, feedback and per-member interview stats."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, literal, select

from app.core.enums import InterviewStatus
from db.models import Feedback, Interview

if TYPE_CHECKING:
    from db.session import Db


@dataclass(frozen=True)
class UserStatsRow:
    """Profile statistics of one member (completed interviews given/taken, rating, no-shows)."""

    interviews_given: int = 0
    interviews_taken: int = 0
    average_rating: float | None = None
    no_shows: int = 0
    interviewer_cancellations: int = 0


async def load_interviews(db: Db, ids: Sequence[int]) -> list[Interview | None]:
    """Interviews by id (no permission check: callers decide what the viewer may see)."""
    rows = (await db.execute(select(Interview).where(Interview.id.in_(ids)))).scalars()
    by_id = {row.id: row for row in rows}
    return [by_id.get(i) for i in ids]


async def load_active_interview_by_slot(db: Db, slot_ids: Sequence[int]) -> list[Interview | None]:
    """The non-cancelled interview of each slot (at most one, by the partial unique index)."""
    statement = select(Interview).where(
        Interview.slot_id.in_(slot_ids), Interview.status != InterviewStatus.CANCELLED
    )
    by_slot = {row.slot_id: row for row in (await db.execute(statement)).scalars()}
    return [by_slot.get(i) for i in slot_ids]


async def load_feedback(db: Db, ids: Sequence[int]) -> list[Feedback | None]:
    """Feedback by id (no permission check: callers decide what the viewer may see)."""
    rows = (await db.execute(select(Feedback).where(Feedback.id.in_(ids)))).scalars()
    by_id = {row.id: row for row in rows}
    return [by_id.get(i) for i in ids]


async def load_feedback_by_interview(db: Db, interview_ids: Sequence[int]) -> list[list[Feedback]]:
    """Feedback of each interview, oldest first."""
    statement = select(Feedback).where(Feedback.interview_id.in_(interview_ids)).order_by(Feedback.id)
    grouped: dict[int, list[Feedback]] = defaultdict(list)
    for row in (await db.execute(statement)).scalars():
        grouped[row.interview_id].append(row)
    return [grouped.get(i, []) for i in interview_ids]


async def load_user_stats(db: Db, user_ids: Sequence[int]) -> list[UserStatsRow]:
    """Counts and average interviewer rating for each member, in two statements per batch."""
    ids = list(user_ids)
    completed = Interview.status == InterviewStatus.COMPLETED
    given = (
        select(
            Interview.interviewer_id.label("user_id"),
            func.count().filter(completed).label("given"),
            literal(0).label("taken"),
            func.count().filter(Interview.no_show_user_id == Interview.interviewer_id).label("no_shows"),
            func.count()
            .filter(
                Interview.status == InterviewStatus.CANCELLED,
                Interview.cancelled_by_id == Interview.interviewer_id,
            )
            .label("cancellations"),
        )
        .where(Interview.interviewer_id.in_(ids))
        .group_by(Interview.interviewer_id)
    )
    taken = (
        select(
            Interview.candidate_id.label("user_id"),
            literal(0).label("given"),
            func.count().filter(completed).label("taken"),
            func.count().filter(Interview.no_show_user_id == Interview.candidate_id).label("no_shows"),
            literal(0).label("cancellations"),
        )
        .where(Interview.candidate_id.in_(ids))
        .group_by(Interview.candidate_id)
    )
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    count_rows: Sequence[Any] = (await db.execute(given.union_all(taken))).all()
    for row in count_rows:
        totals = counts[int(row[0])]
        totals[0] += int(row[1])
        totals[1] += int(row[2])
        totals[2] += int(row[3])
        totals[3] += int(row[4])
    ratings_statement = (
        select(Feedback.subject_id, func.avg(Feedback.rating))
        .where(Feedback.subject_id.in_(ids), Feedback.subject_was_interviewer.is_(True))
        .group_by(Feedback.subject_id)
    )
    rating_rows: Sequence[Any] = (await db.execute(ratings_statement)).all()
    ratings = {int(row[0]): float(row[1]) for row in rating_rows}
    result = []
    for user_id in ids:
        n_given, n_taken, n_no_shows, n_cancellations = counts.get(user_id, [0, 0, 0, 0])
        result.append(
            UserStatsRow(
                interviews_given=n_given,
                interviews_taken=n_taken,
                average_rating=round(ratings[user_id], 2) if user_id in ratings else None,
                no_shows=n_no_shows,
                interviewer_cancellations=n_cancellations,
            )
        )
    return result
