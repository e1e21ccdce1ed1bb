"""Interview lifecycle, feedback, points and calendar mutations."""

from __future__ import annotations

import strawberry

from resolvers import calendar, points
from resolvers.interviews import feedback, lifecycle
from schema.context import Context
from schema.ids import parse_global_id
from schema.permissions import ADMIN_ROLES, MODERATOR_ROLES, authenticated, requires_role
from schema.types.accounts import User
from schema.types.marketplace import Feedback, Interview
from schema.types.marketplace_records import NoShowReport, PointsEntry

Info = strawberry.Info[Context, None]


@strawberry.input(description="Feedback for the other participant of a completed interview.")
class SubmitFeedbackInput:
    interview_id: strawberry.ID
    rating: int = strawberry.field(description="1-5.")
    comment: str = strawberry.field(description="10-2000 characters.")


def _interview_key(value: strawberry.ID) -> int:
    return parse_global_id(value, "Interview")


@strawberry.type
class LifecycleMutation:
    @strawberry.mutation(
        description="Cancel: the candidate until the cutoff, the interviewer until the start.",
        extensions=authenticated(),
    )
    async def cancel_interview(self, info: Info, id: strawberry.ID, reason: str | None = None) -> Interview:
        row = await lifecycle.cancel_interview(
            info.context.uow, info.context.require_viewer(), _interview_key(id), reason
        )
        return Interview.from_row(row)

    @strawberry.mutation(
        description="Start (either participant, from shortly before the start until the end).",
        extensions=authenticated(),
    )
    async def start_interview(self, info: Info, id: strawberry.ID) -> Interview:
        return Interview.from_row(
            await lifecycle.start_interview(
                info.context.uow, info.context.require_viewer(), _interview_key(id)
            )
        )

    @strawberry.mutation(
        description="Complete a started interview (interviewer only); pays the reward.",
        extensions=authenticated(),
    )
    async def complete_interview(self, info: Info, id: strawberry.ID) -> Interview:
        row = await lifecycle.complete_interview(
            info.context.uow, info.context.require_viewer(), _interview_key(id)
        )
        return Interview.from_row(row)

    @strawberry.mutation(
        description="Hide a finished interview from your own list.", extensions=authenticated()
    )
    async def archive_interview(self, info: Info, id: strawberry.ID) -> Interview:
        row = await lifecycle.archive_interview(
            info.context.uow, info.context.require_viewer(), _interview_key(id)
        )
        return Interview.from_row(row)

    @strawberry.mutation(description="Report the other participant as absent.", extensions=authenticated())
    async def report_no_show(self, info: Info, id: strawberry.ID, reason: str | None = None) -> NoShowReport:
        row = await lifecycle.report_no_show(
            info.context.uow, info.context.require_viewer(), _interview_key(id), reason
        )
        return NoShowReport.from_row(row)

    @strawberry.mutation(
        description="Uphold or reject a no-show report.", extensions=requires_role(*MODERATOR_ROLES)
    )
    async def resolve_no_show(
        self, info: Info, report_id: strawberry.ID, upheld: bool, note: str | None = None
    ) -> NoShowReport:
        key = parse_global_id(report_id, "NoShowReport", field="reportId")
        return NoShowReport.from_row(
            await lifecycle.resolve_no_show(
                info.context.uow, info.context.require_viewer(), key, upheld, note
            )
        )

    @strawberry.mutation(
        description="Rate the other participant once the interview is completed.",
        extensions=authenticated(),
    )
    async def submit_feedback(self, info: Info, input: SubmitFeedbackInput) -> Feedback:
        key = parse_global_id(input.interview_id, "Interview", field="interviewId")
        row = await feedback.submit_feedback(
            info.context.uow, info.context.require_viewer(), key, input.rating, input.comment
        )
        return Feedback.from_row(row)

    @strawberry.mutation(
        description="Add or remove points (admins); needs a reason, never below zero.",
        extensions=requires_role(*ADMIN_ROLES),
    )
    async def adjust_points(
        self, info: Info, user_id: strawberry.ID, amount: int, reason: str
    ) -> PointsEntry:
        key = parse_global_id(user_id, "User", field="userId")
        return PointsEntry.from_row(
            await points.adjust_points(info.context.uow, info.context.require_viewer(), key, amount, reason)
        )

    @strawberry.mutation(description="Replace your secret calendar feed URL.", extensions=authenticated())
    async def regenerate_calendar_feed_url(self, info: Info) -> User:
        return User.from_row(
            await calendar.regenerate_calendar_token(info.context.uow, info.context.require_viewer())
        )
