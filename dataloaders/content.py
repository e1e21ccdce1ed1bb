"""Batched reads of interview content: questions, rubrics and their criteria, interview question sets,
scored results and their scores, and members' progress. No permission checks: callers decide."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select

from db.models import CriterionScore, InterviewQuestion, InterviewResult, Question, Rubric, RubricCriterion

if TYPE_CHECKING:
    from db.session import Db

Row = TypeVar("Row", Question, Rubric, RubricCriterion, InterviewResult)
# (member id, specialization id or None for every specialization)
ProgressKey = tuple[int, int | None]


async def _by_id(db: Db, model: type[Row], ids: Sequence[int]) -> list[Row | None]:
    column: Any = model.id
    rows = (await db.execute(select(model).where(column.in_(ids)))).scalars()
    found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]


async def load_questions(db: Db, ids: Sequence[int]) -> list[Question | None]:
    return await _by_id(db, Question, ids)


async def load_rubrics(db: Db, ids: Sequence[int]) -> list[Rubric | None]:
    return await _by_id(db, Rubric, ids)


async def load_criteria(db: Db, ids: Sequence[int]) -> list[RubricCriterion | None]:
    return await _by_id(db, RubricCriterion, ids)


async def load_results(db: Db, ids: Sequence[int]) -> list[InterviewResult | None]:
    return await _by_id(db, InterviewResult, ids)


async def load_rubric_criteria(db: Db, rubric_ids: Sequence[int]) -> list[list[RubricCriterion]]:
    """Each rubric's criteria in their order."""
    statement = (
        select(RubricCriterion)
        .where(RubricCriterion.rubric_id.in_(rubric_ids))
        .order_by(RubricCriterion.rubric_id, RubricCriterion.position)
    )
    grouped: dict[int, list[RubricCriterion]] = defaultdict(list)
    for row in (await db.execute(statement)).scalars():
        grouped[row.rubric_id].append(row)
    return [grouped.get(i, []) for i in rubric_ids]


async def load_interview_question_ids(db: Db, interview_ids: Sequence[int]) -> list[list[int]]:
    """The ids of each interview's questions, in the interviewer's order."""
    statement = (
        select(InterviewQuestion.interview_id, InterviewQuestion.question_id)
        .where(InterviewQuestion.interview_id.in_(interview_ids))
        .order_by(InterviewQuestion.interview_id, InterviewQuestion.position)
    )
    grouped: dict[int, list[int]] = defaultdict(list)
    for row in (await db.execute(statement)).all():
        grouped[row.interview_id].append(row.question_id)
    return [grouped.get(i, []) for i in interview_ids]


async def load_result_by_interview(db: Db, interview_ids: Sequence[int]) -> list[InterviewResult | None]:
    """Each interview's scored result (at most one, by a unique index)."""
    statement = select(InterviewResult).where(InterviewResult.interview_id.in_(interview_ids))
    found = {row.interview_id: row for row in (await db.execute(statement)).scalars()}
    return [found.get(i) for i in interview_ids]


async def load_scores(db: Db, result_ids: Sequence[int]) -> list[list[CriterionScore]]:
    """Each result's scores, in the order of the rubric's criteria."""
    statement = (
        select(CriterionScore)
        .join(RubricCriterion, RubricCriterion.id == CriterionScore.criterion_id)
        .where(CriterionScore.result_id.in_(result_ids))
        .order_by(CriterionScore.result_id, RubricCriterion.position)
    )
    grouped: dict[int, list[CriterionScore]] = defaultdict(list)
    for row in (await db.execute(statement)).scalars():
        grouped[row.result_id].append(row)
    return [grouped.get(i, []) for i in result_ids]


async def load_progress(db: Db, keys: Sequence[ProgressKey]) -> list[list[InterviewResult]]:
    """The results a member received as candidate, oldest first: in one specialization, or in all."""
    members = sorted({member for member, _ in keys})
    statement = (
        select(InterviewResult)
        .where(InterviewResult.candidate_id.in_(members))
        .order_by(InterviewResult.candidate_id, InterviewResult.id)
    )
    by_member: dict[int, list[InterviewResult]] = defaultdict(list)
    for row in (await db.execute(statement)).scalars():
        by_member[row.candidate_id].append(row)
    return [
        [row for row in by_member.get(member, []) if spec is None or row.specialization_id == spec]
        for member, spec in keys
    ]
