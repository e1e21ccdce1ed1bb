"""Scoring a completed interview against a rubric, and reading results and progress.

The interviewer scores every criterion of one rubric of the interview's specialization once, after
completion; the result is immutable. Two scorings at once store one: the interview row is locked and
a unique index per interview is the backstop (docs/product.md, rule 25).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import InterviewStatus
from app.core.errors import BadUserInput, Conflict, Forbidden, NotFound
from dataloaders import forget
from db.models import CriterionScore, Interview, InterviewResult, Rubric, RubricCriterion, User
from db.models.content import MAX_SCORE, MIN_SCORE
from resolvers import events, validation
from resolvers.content.bank import MAX_CRITERIA
from resolvers.integrity import UNIQUE_VIOLATION, flush_or_conflict
from resolvers.interviews.access import can_view_interview
from resolvers.unit_of_work import UnitOfWork

ALREADY_SCORED = "This interview has already been scored."


@dataclass(frozen=True)
class ScoreDraft:
    criterion_id: int
    score: int
    comment: str | None


def _checked_scores(drafts: Sequence[ScoreDraft]) -> list[ScoreDraft]:
    if not 1 <= len(drafts) <= MAX_CRITERIA:
        raise BadUserInput(f"Score 1-{MAX_CRITERIA} criteria.", field="scores")
    if len({d.criterion_id for d in drafts}) != len(drafts):
        raise BadUserInput("A criterion is scored twice.", field="scores")
    checked = []
    for draft in drafts:
        if not MIN_SCORE <= draft.score <= MAX_SCORE:
            raise BadUserInput(f"`score` must be {MIN_SCORE}-{MAX_SCORE}.", field="scores.score")
        comment = validation.text(draft.comment or "", "scores.comment", min_length=0, max_length=2000)
        checked.append(ScoreDraft(draft.criterion_id, draft.score, comment))
    return checked


async def _lock_scorable(session: AsyncSession, actor: User, interview_id: int) -> Interview:
    interview = await session.scalar(select(Interview).where(Interview.id == interview_id).with_for_update())
    if interview is None or not can_view_interview(actor, interview):
        raise NotFound("No Interview with this ID.")
    if interview.interviewer_id != actor.id:
        raise Forbidden("Only the interviewer scores an interview.")
    if interview.status != InterviewStatus.COMPLETED:
        raise Conflict("Only a completed interview can be scored.")
    if await session.scalar(select(InterviewResult.id).where(InterviewResult.interview_id == interview.id)):
        raise Conflict(ALREADY_SCORED)
    return interview


async def _rubric_criteria(
    session: AsyncSession, interview: Interview, drafts: Sequence[ScoreDraft]
) -> list[RubricCriterion]:
    """The criteria of the one rubric the scores name, which must all be scored."""
    named = (
        await session.scalars(
            select(RubricCriterion).where(RubricCriterion.id.in_([d.criterion_id for d in drafts]))
        )
    ).all()
    rubric_ids = {c.rubric_id for c in named}
    if len(named) != len(drafts) or len(rubric_ids) != 1:
        raise BadUserInput("Scores must name criteria of one rubric.", field="scores")
    (rubric_id,) = rubric_ids
    every = (
        await session.scalars(select(RubricCriterion).where(RubricCriterion.rubric_id == rubric_id))
    ).all()
    if len(every) != len(named):
        raise BadUserInput("Score every criterion of the rubric.", field="scores")
    rubric = await session.get(Rubric, rubric_id)
    if rubric is None or rubric.specialization_id != interview.specialization_id:
        raise BadUserInput("The rubric must be of this interview's specialization.", field="scores")
    return list(every)


def overall_score(criteria: Sequence[RubricCriterion], drafts: Sequence[ScoreDraft]) -> float:
    """The weighted mean of the scores (weights from the rubric)."""
    weights = {c.id: c.weight for c in criteria}
    total = sum(weights[d.criterion_id] for d in drafts)
    return sum(weights[d.criterion_id] * d.score for d in drafts) / total


async def score_interview(
    uow: UnitOfWork, actor: User, interview_id: int, drafts: Sequence[ScoreDraft], summary: str | None
) -> InterviewResult:
    scores = _checked_scores(drafts)
    clean_summary = validation.text(summary or "", "summary", min_length=0, max_length=4000)
    async with uow.db.transaction() as session:
        interview = await _lock_scorable(session, actor, interview_id)
        criteria = await _rubric_criteria(session, interview, scores)
        result = InterviewResult(
            interview_id=interview.id,
            rubric_id=criteria[0].rubric_id,
            interviewer_id=interview.interviewer_id,
            candidate_id=interview.candidate_id,
            specialization_id=interview.specialization_id,
            summary=clean_summary,
            overall_score=overall_score(criteria, scores),
        )
        session.add(result)
        await flush_or_conflict(session, {UNIQUE_VIOLATION: ALREADY_SCORED})
        session.add_all(
            CriterionScore(result_id=result.id, criterion_id=d.criterion_id, score=d.score, comment=d.comment)
            for d in scores
        )
        await session.flush()
        await session.refresh(result)
        events.announce_interview(uow, interview.id)
    forget(uow.loaders.interview_result, interview_id)
    forget(uow.loaders.progress, (interview.candidate_id, None))
    forget(uow.loaders.progress, (interview.candidate_id, interview.specialization_id))
    return result


async def interview_result(
    uow: UnitOfWork, viewer: User | None, interview: Interview
) -> InterviewResult | None:
    """The interview's result for its participants and staff; None before it is scored."""
    if not can_view_interview(viewer, interview):
        return None
    return await uow.loaders.interview_result.load(interview.id)


async def visible_results(
    uow: UnitOfWork, viewer: User | None, ids: Sequence[int]
) -> list[InterviewResult | None]:
    """Results by id, None for those of interviews the viewer may not see."""
    rows = await uow.loaders.result.load_many(ids)
    interviews = await uow.loaders.interview.load_many([r.interview_id if r else 0 for r in rows])
    return [
        row if row is not None and interview is not None and can_view_interview(viewer, interview) else None
        for row, interview in zip(rows, interviews, strict=True)
    ]


async def progress(uow: UnitOfWork, member_id: int, specialization_id: int | None) -> list[InterviewResult]:
    """The member's results as candidate, oldest first (callers show them to the member and staff
    only, docs/product.md, rule 25)."""
    return await uow.loaders.progress.load((member_id, specialization_id))
