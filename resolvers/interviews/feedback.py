"""Feedback: one immutable rating and comment per participant after a completed interview."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from app.core.enums import InterviewStatus, NotificationKind
from app.core.errors import BadUserInput, Conflict, NotFound
from dataloaders import forget
from db.models import Feedback, Interview, User
from resolvers import notifications, validation
from resolvers.integrity import UNIQUE_VIOLATION, flush_or_conflict
from resolvers.interviews.access import can_view_interview
from resolvers.unit_of_work import UnitOfWork


async def submit_feedback(
    uow: UnitOfWork, actor: User, interview_id: int, rating: int, comment: str
) -> Feedback:
    """The actor rates the other participant of a COMPLETED interview (docs/product.md, rule 12)."""
    if not 1 <= rating <= 5:
        raise BadUserInput("`rating` must be 1-5.", field="rating")
    clean_comment = validation.text(comment, "comment", min_length=10, max_length=2000)
    async with uow.db.transaction() as session:
        interview = await session.scalar(
            select(Interview).where(Interview.id == interview_id).with_for_update(read=True)
        )
        if interview is None or actor.id not in (interview.interviewer_id, interview.candidate_id):
            raise NotFound("No Interview with this ID.")
        if interview.status != InterviewStatus.COMPLETED:
            raise Conflict("Feedback can be given only after the interview is completed.")
        author_is_candidate = actor.id == interview.candidate_id
        feedback = Feedback(
            interview_id=interview.id,
            author_id=actor.id,
            subject_id=interview.interviewer_id if author_is_candidate else interview.candidate_id,
            subject_was_interviewer=author_is_candidate,
            rating=rating,
            comment=clean_comment,
        )
        session.add(feedback)
        await flush_or_conflict(
            session, {UNIQUE_VIOLATION: "You have already given feedback for this interview."}
        )
        await session.refresh(feedback)
        payload = notifications.interview_payload(interview, rating=rating)
        await notifications.notify(
            session, feedback.subject_id, NotificationKind.FEEDBACK_RECEIVED, payload, uow
        )
    forget(uow.loaders.interview_feedback, interview_id)
    forget(uow.loaders.user_stats, feedback.subject_id)
    return feedback


async def visible_feedback(uow: UnitOfWork, actor: User | None, ids: Sequence[int]) -> list[Feedback | None]:
    """Feedback by id, None where the actor may not see its interview."""
    rows = await uow.loaders.feedback.load_many(ids)
    interviews = await uow.loaders.interview.load_many([row.interview_id for row in rows if row is not None])
    visible = {interview.id for interview in interviews if interview and can_view_interview(actor, interview)}
    return [row if row is not None and row.interview_id in visible else None for row in rows]
