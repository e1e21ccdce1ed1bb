"""GraphQL types of interviews and feedback."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from sqlalchemy import literal_column
from strawberry import relay

from app.core.enums import InterviewStatus
from app.core.errors import BadUserInput
from db import models
from resolvers.calendar import EventParts, build_event, calendar_text
from resolvers.content import question_sets, scoring
from resolvers.interviews.access import can_view_interview, is_participant
from resolvers.interviews.feedback import visible_feedback
from schema.accounts.types import User
from schema.chat.types import (
    MESSAGES_NEWEST,
    MESSAGES_OLDEST,
    Message,
    _empty_connection,
    message_connection,
    message_page_arguments,
)
from schema.compiled.compiler import Scope
from schema.compiled.encodings import cursor as cursor_sql
from schema.compiled.mapped import Mapped, relation, sql
from schema.compiled.pages import NestedPage
from schema.compiled.selection import Unsupported
from schema.content.types import InterviewResult, Question
from schema.context import Info
from schema.ids import encode_cursor, node_keys
from schema.slots.types import Slot
from schema.specializations.types import Specialization
from schema.visibility import in_visible_interview, participant_or_staff

strawberry.enum(InterviewStatus, name="InterviewStatus", description="Lifecycle of an interview.")


@strawberry.type(name="Feedback", description="A rating left by one participant for the other.")
class Feedback(relay.Node, Mapped, model=models.Feedback):
    id: relay.NodeID[int]
    rating: int
    comment: str
    created_at: datetime
    row: strawberry.Private[models.Feedback]
    author: User | None = relation("author_id")
    subject: User | None = relation("subject_id", description="The participant this feedback is about.")

    sql_visible = staticmethod(in_visible_interview)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Feedback | None]:
        rows = await visible_feedback(info.context.uow, info.context.viewer, node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]


def _participant_or_staff(scope: Scope) -> str:
    return participant_or_staff(scope, scope.column("interviewer_id"), scope.column("candidate_id"))


def _is_archived_sql(scope: Scope) -> str:
    if scope.compiler.role is None:
        return "false"
    viewer = scope.params.viewer()
    column = scope.column
    return (
        f"(CASE WHEN {column('interviewer_id')} = {viewer} THEN {column('archived_by_interviewer')} "
        f"ELSE {column('candidate_id')} = {viewer} AND {column('archived_by_candidate')} END)"
    )


def _video_link_sql(scope: Scope) -> str:
    link = f"(SELECT s.video_link FROM slots s WHERE s.id = {scope.column('slot_id')})"  # noqa: S608  (an alias and a parameter)
    return f"CASE WHEN {_participant_or_staff(scope)} THEN {link} END"


def _feedback_sql(scope: Scope) -> str:
    """`Interview.feedback`: all of it, oldest first (the interview itself is visible)."""
    scope.no_arguments()
    assert scope.selected is not None
    interview = scope.column("id")
    return scope.compiler.related_list(
        Feedback, "feedback", lambda f: f"{f}.interview_id = {interview}", lambda f: f"{f}.id", scope.selected
    )


def _messages_sql(scope: Scope) -> str:
    first, after, last = (scope.argument(name) for name in ("first", "after", "last"))
    try:
        size, after_key, newest = message_page_arguments(scope.compiler.settings, first, after, last)
    except BadUserInput as exc:
        raise Unsupported("messages") from exc  # the resolver reports it
    assert scope.selected is not None
    nested = NestedPage(
        MESSAGES_NEWEST if newest else MESSAGES_OLDEST,
        "interview_id",
        size,
        {"after_id": after_key, "limit": size + 1},
        has_previous=after is not None,
        newest_last=newest,
    )
    return nested.sql(scope.compiler, literal_column(scope.column("id")), scope.selected)


def interview_version(row: models.Interview) -> str:
    """The cursor of an interview's state for `interviewUpdated` (every transition sets updated_at)."""
    return encode_cursor(row.updated_at.isoformat())


@strawberry.type(
    name="Interview",
    description="A booked slot. Visible only to its two participants, moderators and admins.",
)
class Interview(relay.Node, Mapped, model=models.Interview):
    id: relay.NodeID[int]
    status: InterviewStatus
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    row: strawberry.Private[models.Interview]
    slot: Slot | None = relation("slot_id")
    interviewer: User | None = relation("interviewer_id")
    candidate: User | None = relation("candidate_id")
    specialization: Specialization | None = relation("specialization_id")
    cancelled_by: User | None = relation(
        "cancelled_by_id", description="Who cancelled (counts against an interviewer's reliability)."
    )
    no_show_user: User | None = relation(
        "no_show_user_id", description="The participant a moderator found absent."
    )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Interview | None]:
        nodes = await cls.node_loader(info).load_many(node_keys(node_ids))
        return [node if node is not None and node.visible_to(info) else None for node in nodes]

    def visible_to(self, info: Info) -> bool:
        return can_view_interview(info.context.viewer, self.row)

    sql_visible = staticmethod(_participant_or_staff)

    @strawberry.field(
        metadata=sql(
            lambda s: (
                f"floor(extract(epoch FROM ({s.column('ends_at')} - {s.column('starts_at')})) / 60)::bigint"
            )
        )
    )
    def duration_minutes(self) -> int:
        return int((self.row.ends_at - self.row.starts_at).total_seconds() // 60)

    @strawberry.field(
        description="Whether the viewer has archived this interview.", metadata=sql(_is_archived_sql)
    )
    def is_archived(self, info: Info) -> bool:
        viewer = info.context.viewer
        if viewer is None:
            return False
        if viewer.id == self.row.interviewer_id:
            return self.row.archived_by_interviewer
        return viewer.id == self.row.candidate_id and self.row.archived_by_candidate

    @strawberry.field(
        description="The meeting link (participants, moderators and admins).", metadata=sql(_video_link_sql)
    )
    async def video_link(self, info: Info) -> str | None:
        if not can_view_interview(info.context.viewer, self.row):
            return None
        slot = await info.context.loaders.slot.load(self.row.slot_id)
        return slot.video_link if slot else None

    @strawberry.field(
        description="Feedback given by the participants, oldest first.",
        metadata=sql(_feedback_sql),
    )
    async def feedback(self, info: Info) -> list[Feedback]:
        rows = await info.context.loaders.interview_feedback.load(self.row.id)
        return [Feedback.from_row(r) for r in rows]

    @strawberry.field(
        description="The question set, in order: for the interviewer and staff at any time (with "
        "suggested answers), for the candidate once the interview is completed; null otherwise."
    )
    async def questions(self, info: Info) -> list[Question] | None:
        viewer = info.context.viewer
        rows = await question_sets.interview_questions(info.context.uow, viewer, self.row)
        if rows is None:
            return None
        show_answer = question_sets.may_see_answers(viewer, self.row)
        return [Question.from_row(row, show_answer=show_answer) for row in rows]

    @strawberry.field(description="The interviewer's scores, once given (participants and staff).")
    async def result(self, info: Info) -> InterviewResult | None:
        row = await scoring.interview_result(info.context.uow, info.context.viewer, self.row)
        return InterviewResult.from_row(row) if row else None

    @strawberry.field(description="This interview as an iCalendar (RFC 5545) VCALENDAR with one VEVENT.")
    async def calendar_event(self, info: Info) -> str:
        loaders = info.context.loaders
        row = self.row
        slot = await loaders.slot.load(row.slot_id)
        interviewer, candidate = await loaders.user.load_many([row.interviewer_id, row.candidate_id])
        topic = await loaders.specialization.load(row.specialization_id)
        show_link = can_view_interview(info.context.viewer, row)
        parts = EventParts(
            interview=row,
            title=slot.title if slot else None,
            video_link=slot.video_link if slot and show_link else None,
            interviewer_name=interviewer.display_name if interviewer else "",
            candidate_name=candidate.display_name if candidate else "",
            specialization_name=topic.name if topic else "",
        )
        return calendar_text([build_event(parts)])

    @strawberry.field(
        description=(
            "Chat messages, oldest first (keyset cursors: catch up after a reconnect). "
            "`last: n` instead of `first` gives the newest n (still oldest first; "
            "`hasPreviousPage` says whether older ones exist)."
        ),
        metadata=sql(_messages_sql),
    )
    async def messages(
        self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None
    ) -> relay.Connection[Message]:
        if not can_view_interview(info.context.viewer, self.row):
            return _empty_connection()
        return await message_connection(info, self.row.id, first, after, last)

    @strawberry.field(
        description="Opaque version of this interview's state: the `after` of `interviewUpdated`, which "
        "then first gives the interview if it changed since.",
        metadata=sql(lambda s: cursor_sql([(s.column("updated_at"), True)])),
    )
    def version(self) -> str:
        return interview_version(self.row)

    def viewer_is_participant(self, info: Info) -> bool:
        """True when the viewer takes part (used by fields that exclude staff)."""
        return is_participant(info.context.viewer, self.row)
