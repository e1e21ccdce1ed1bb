"""Interview fields: the viewer's interviews (a compiled read), booking, the lifecycle, feedback and
live status."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from app.core.enums import InterviewStatus
from resolvers.interviews import booking, feedback, lifecycle
from schema import subscriptions
from schema.compiled.execution import Precompleted
from schema.compiled.pages import Page
from schema.compiled.plans import FieldRequest, compiled_object, compiled_page, request_of
from schema.compiled.roots import root_read
from schema.context import Context, Info
from schema.ids import decode_cursor, parse_global_id
from schema.interviews.types import Feedback, Interview
from schema.live_context import EventScope
from schema.moderation.types import NoShowReport
from schema.pagination import _keyset_cursor, page_size
from schema.permissions import authenticated
from schema.replay import Resume

# The viewer's interviews: the same statement on both paths (resolvers/interviews/booking.py).
MY_INTERVIEWS = Page(Interview, booking.my_interviews_statement, ("starts_at", "id"), descending=True)


@strawberry.input(description="Feedback for the other participant of a completed interview.")
class SubmitFeedbackInput:
    interview_id: strawberry.ID
    rating: int = strawberry.field(description="1-5.")
    comment: str = strawberry.field(description="10-2000 characters.")


def _interview_key(value: strawberry.ID) -> int:
    return parse_global_id(value, "Interview")


def _mine_values(
    context: Context,
    status: list[InterviewStatus] | None,
    first: int | None,
    after: str | None,
    archived: bool,
) -> tuple[dict[str, Any], int]:
    """The statement's values and the page size of `myInterviews`, from its arguments."""
    size = page_size(first, context.settings)
    values: dict[str, Any] = {
        "viewer_id": context.require_viewer().id,
        "statuses": [s.value for s in status] if status else None,
        "include_archived": archived,
        "after": _keyset_cursor(after),
        "limit": size + 1,
    }
    return values, size


@root_read("myInterviews")
async def answer_mine(
    request: FieldRequest,
    status: list[InterviewStatus] | None = None,
    first: int | None = None,
    after: str | None = None,
    include_archived: bool = False,
) -> Precompleted | None:
    values, size = _mine_values(request.context, status, first, after, include_archived)
    compiled = await compiled_page(request, MY_INTERVIEWS, values, size=size, has_previous=after is not None)
    return compiled[0] if compiled is not None else None


@root_read("interview")
async def answer_interview(request: FieldRequest, id: strawberry.ID) -> Precompleted | None:
    return await compiled_object(request, Interview, {"id": parse_global_id(id, "Interview")})


@strawberry.type
class InterviewsQuery:
    @strawberry.field(
        description="The viewer's interviews in either role, latest start first.",
        extensions=authenticated(),
    )
    async def my_interviews(
        self,
        info: Info,
        status: list[InterviewStatus] | None = None,
        first: int | None = None,
        after: str | None = None,
        include_archived: bool = False,
    ) -> relay.Connection[Interview]:
        compiled = await answer_mine(request_of(info), status, first, after, include_archived)
        if compiled is not None:
            return compiled  # type: ignore[return-value]  # passed through by the executor
        values, size = _mine_values(info.context, status, first, after, include_archived)
        rows = await booking.my_interviews(
            info.context.uow,
            info.context.require_viewer(),
            statuses=values["statuses"],
            include_archived=include_archived,
            after=values["after"],
            limit=size + 1,
        )
        return MY_INTERVIEWS.connection(rows, size, has_previous=after is not None)

    @strawberry.field(description="An interview; null unless the viewer takes part or is staff.")
    async def interview(self, info: Info, id: strawberry.ID) -> Interview | None:
        compiled = await answer_interview(request_of(info), id)
        if compiled is not None:
            return compiled  # type: ignore[return-value]  # passed through by the executor
        key = parse_global_id(id, "Interview")
        row = await booking.get_interview(info.context.uow, info.context.optional_viewer(), key)
        return Interview.from_row(row) if row else None


@strawberry.type
class InterviewsMutation:
    @strawberry.mutation(
        description=(
            "Book a slot; spends the booking cost. Retrying returns the same interview. "
            "Your own slot: FORBIDDEN; a past, booked or withdrawn slot, or an overlapping "
            "interview of yours: CONFLICT; too few points: INSUFFICIENT_POINTS."
        ),
        extensions=authenticated(),
    )
    async def book_slot(self, info: Info, slot_id: strawberry.ID) -> Interview:
        key = parse_global_id(slot_id, "Slot", field="slotId")
        return Interview.from_row(
            await booking.book_slot(info.context.uow, info.context.require_viewer(), key)
        )

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
        description="Complete a started interview (interviewer only), no earlier than "
        "COMPLETE_AFTER_MINUTES after its scheduled start; pays the reward.",
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
        description="Rate the other participant once the interview is completed.",
        extensions=authenticated(),
    )
    async def submit_feedback(self, info: Info, input: SubmitFeedbackInput) -> Feedback:
        key = parse_global_id(input.interview_id, "Interview", field="interviewId")
        row = await feedback.submit_feedback(
            info.context.uow, info.context.require_viewer(), key, input.rating, input.comment
        )
        return Feedback.from_row(row)


def interview_resume(info: Info, interview_id: int, after: str | None) -> Resume[Interview]:
    """Replay of one interview's state: its current state when it changed since `after`
    (docs/product.md, rule 27)."""
    after_version = decode_cursor(after, (datetime,))[0] if after is not None else None

    async def current(scope: EventScope) -> Any | None:
        return await scope.loaders.interview.load(interview_id)

    async def read(scope: EventScope, version: Any | None) -> list[Interview]:
        row = await current(scope)
        return [Interview.from_row(row)] if row is not None and row.updated_at != version else []

    async def head(scope: EventScope) -> Any | None:
        row = await current(scope)
        return row.updated_at if row is not None else None

    return Resume(
        after=after_version,
        read=read,
        head=head,
        position=lambda node: node.row.updated_at,
        page_size=1,
        keyed=False,
    )


@strawberry.type
class InterviewsSubscription:
    @strawberry.subscription(
        description="One interview's status (participants, moderators and admins). With `after` (an "
        "`Interview.version`), the interview comes first if it changed since that version.",
        extensions=authenticated(),
    )
    async def interview_updated(  # returns the stream after checking access
        self, info: Info, id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[Interview, None]:
        context = info.context
        key = parse_global_id(id, "Interview")
        resume = interview_resume(info, key, after)
        await subscriptions.check_interview_access(context, key)

        async def build(message: dict[str, Any], scope: EventScope) -> Interview | None:
            row = await scope.loaders.interview.load(key)
            return Interview.from_row(row) if row is not None else None

        channel = context.services.channels.interview(key)
        return subscriptions.follow(
            context, channel, build, recheck=subscriptions.interview_access(context, key), resume=resume
        )
