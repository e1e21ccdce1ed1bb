"""The question set of an interview: chosen by its interviewer or drawn from the bank by difficulty.

Visibility (docs/product.md, rule 25): the interviewer (and staff) see the set and the suggested
answers at any time; the candidate sees the questions, never the answers, once the interview is
COMPLETED, so a candidate cannot read them beforehand (not even by cancelling).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import STAFF_ROLES, InterviewStatus, QuestionDifficulty
from app.core.errors import BadUserInput, Conflict, Forbidden, NotFound
from dataloaders import forget
from db.models import Interview, InterviewQuestion, Question, User
from resolvers import events
from resolvers.interviews.access import can_view_interview
from resolvers.unit_of_work import UnitOfWork

MAX_QUESTIONS = 20
EDITABLE = (InterviewStatus.SCHEDULED, InterviewStatus.IN_PROGRESS)


def may_see_questions(viewer: User | None, interview: Interview) -> bool:
    """The interviewer and staff always; the candidate once the interview is completed."""
    if viewer is None:
        return False
    if viewer.id == interview.interviewer_id or viewer.role in STAFF_ROLES:
        return True
    return viewer.id == interview.candidate_id and interview.status == InterviewStatus.COMPLETED


def may_see_answers(viewer: User | None, interview: Interview) -> bool:
    """Suggested answers are for the interviewer and staff only."""
    return viewer is not None and (viewer.id == interview.interviewer_id or viewer.role in STAFF_ROLES)


async def _lock_own_interview(session: AsyncSession, actor: User, interview_id: int) -> Interview:
    """The actor's interview as interviewer, row-locked, while its questions may still change."""
    interview = await session.scalar(select(Interview).where(Interview.id == interview_id).with_for_update())
    if interview is None or not can_view_interview(actor, interview):
        raise NotFound("No Interview with this ID.")
    if interview.interviewer_id != actor.id:
        raise Forbidden("Only the interviewer chooses the questions.")
    if interview.status not in EDITABLE:
        raise Conflict(f"The questions of a {interview.status.lower()} interview cannot change.")
    return interview


async def _replace(session: AsyncSession, interview_id: int, question_ids: Sequence[int]) -> None:
    await session.execute(delete(InterviewQuestion).where(InterviewQuestion.interview_id == interview_id))
    session.add_all(
        InterviewQuestion(interview_id=interview_id, question_id=question_id, position=position)
        for position, question_id in enumerate(question_ids)
    )
    await session.flush()


def _distinct(question_ids: Sequence[int]) -> list[int]:
    if len(question_ids) > MAX_QUESTIONS:
        raise BadUserInput(f"At most {MAX_QUESTIONS} questions.", field="questionIds")
    if len(set(question_ids)) != len(question_ids):
        raise BadUserInput("A question appears twice.", field="questionIds")
    return list(question_ids)


async def set_interview_questions(
    uow: UnitOfWork, actor: User, interview_id: int, question_ids: Sequence[int]
) -> Interview:
    """Replace the interview's question set with `question_ids` (in this order), all from the bank
    of the interview's specialization; an empty list clears it."""
    chosen = _distinct(question_ids)
    async with uow.db.transaction() as session:
        interview = await _lock_own_interview(session, actor, interview_id)
        if chosen:
            found = await session.scalars(
                select(Question.id).where(
                    Question.id.in_(chosen), Question.specialization_id == interview.specialization_id
                )
            )
            if set(found.all()) != set(chosen):
                raise BadUserInput(
                    "Every question must be from this interview's specialization.", field="questionIds"
                )
        await _replace(session, interview.id, chosen)
        events.announce_interview(uow, interview.id)
    forget(uow.loaders.interview_question_ids, interview_id)
    return interview


async def draw_interview_questions(
    uow: UnitOfWork, actor: User, interview_id: int, difficulty: QuestionDifficulty | None, count: int
) -> Interview:
    """Replace the interview's question set with `count` random questions of the specialization's
    bank (of one difficulty, if given), preferring those the candidate has not been asked before."""
    if not 1 <= count <= MAX_QUESTIONS:
        raise BadUserInput(f"`count` must be 1-{MAX_QUESTIONS}.", field="count")
    async with uow.db.transaction() as session:
        interview = await _lock_own_interview(session, actor, interview_id)
        asked_before = exists().where(
            InterviewQuestion.question_id == Question.id,
            InterviewQuestion.interview_id == Interview.id,
            Interview.candidate_id == interview.candidate_id,
            Interview.id != interview.id,
        )
        statement = (
            select(Question.id)
            .where(Question.specialization_id == interview.specialization_id)
            .order_by(asked_before, func.random())
            .limit(count)
        )
        if difficulty is not None:
            statement = statement.where(Question.difficulty == difficulty)
        drawn = list((await session.scalars(statement)).all())
        if not drawn:
            raise Conflict("The question bank has no questions of this kind yet.")
        await _replace(session, interview.id, drawn)
        events.announce_interview(uow, interview.id)
    forget(uow.loaders.interview_question_ids, interview_id)
    return interview


async def interview_questions(
    uow: UnitOfWork, viewer: User | None, interview: Interview
) -> list[Question] | None:
    """The interview's questions in order, or None when the viewer may not see them (yet)."""
    if not may_see_questions(viewer, interview):
        return None
    ids = await uow.loaders.interview_question_ids.load(interview.id)
    rows = await uow.loaders.question.load_many(ids)
    return [row for row in rows if row is not None]
