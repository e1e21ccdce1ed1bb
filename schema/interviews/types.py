"""GraphQL types of interviews and feedback."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from app.core.enums import InterviewStatus
from app.core.errors import BadUserInput
from db import models
from resolvers.calendar import EventParts, build_event, calendar_text
from resolvers.content import question_sets, scoring
from resolvers.interviews.access import can_view_interview, is_participant
from resolvers.interviews.feedback import visible_feedback
from schema.accounts.types import User, load_user_node, user_node_loader, user_soon
from schema.chat.types import Message, _empty_connection, _message_page, message_connection, message_page_key
from schema.content.types import InterviewResult, Question
from schema.context import Context, Info
from schema.execution.fast_execution import MISSING, fast_getter
from schema.ids import node_keys
from schema.slots.types import Slot
from schema.specializations.types import (
    Specialization,
    specialization_node_loader,
    specialization_soon,
)

strawberry.enum(InterviewStatus, name="InterviewStatus", description="Lifecycle of an interview.")


@strawberry.type(name="Feedback", description="A rating left by one participant for the other.")
class Feedback(relay.Node):
    id: relay.NodeID[int]
    rating: int
    comment: str
    created_at: datetime
    author_id: strawberry.Private[int]
    subject_id: strawberry.Private[int]
    interview_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: models.Feedback) -> Feedback:
        return cls(
            id=row.id,
            rating=row.rating,
            comment=row.comment,
            created_at=row.created_at,
            author_id=row.author_id,
            subject_id=row.subject_id,
            interview_id=row.interview_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Feedback | None]:
        rows = await visible_feedback(info.context.uow, info.context.viewer, node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]

    @strawberry.field
    async def author(self, info: Info) -> User | None:
        return await load_user_node(info, self.author_id)

    @strawberry.field(description="The participant this feedback is about.")
    async def subject(self, info: Info) -> User | None:
        return await load_user_node(info, self.subject_id)


@strawberry.type(
    name="Interview",
    description="A booked slot. Visible only to its two participants, moderators and admins.",
)
class Interview(relay.Node):
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
    # Related objects a page resolver loaded in bulk (see `prefetch_interviews`): "interviewer",
    # "candidate", "specialization" and ("messages", first, after, last) -> ready connection.
    # Fields resolve synchronously from here and fall back to loaders for anything missing.
    prefetched: strawberry.Private[dict[Any, Any] | None] = None

    @classmethod
    def from_row(cls, row: models.Interview) -> Interview:
        return cls(
            id=row.id,
            status=InterviewStatus(row.status),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            created_at=row.created_at,
            started_at=row.started_at,
            completed_at=row.completed_at,
            cancelled_at=row.cancelled_at,
            cancel_reason=row.cancel_reason,
            row=row,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Interview | None]:
        rows = await info.context.loaders.interview.load_many(node_keys(node_ids))
        viewer = info.context.viewer
        return [
            cls.from_row(row) if row is not None and can_view_interview(viewer, row) else None for row in rows
        ]

    @strawberry.field
    async def slot(self, info: Info) -> Slot | None:
        row = await info.context.loaders.slot.load(self.row.slot_id)
        return Slot.from_row(row) if row else None

    @strawberry.field
    @fast_getter(lambda self, _context, _arguments: self.prefetched_value("interviewer"))
    def interviewer(self, info: Info) -> User | None:
        if self.prefetched is not None and "interviewer" in self.prefetched:
            return self.prefetched["interviewer"]  # type: ignore[no-any-return]
        return user_soon(info, self.row.interviewer_id)  # type: ignore[return-value]  # awaited by graphql-core

    @strawberry.field
    @fast_getter(lambda self, _context, _arguments: self.prefetched_value("candidate"))
    def candidate(self, info: Info) -> User | None:
        if self.prefetched is not None and "candidate" in self.prefetched:
            return self.prefetched["candidate"]  # type: ignore[no-any-return]
        return user_soon(info, self.row.candidate_id)  # type: ignore[return-value]

    @strawberry.field
    @fast_getter(lambda self, _context, _arguments: self.prefetched_value("specialization"))
    def specialization(self, info: Info) -> Specialization | None:
        if self.prefetched is not None and "specialization" in self.prefetched:
            return self.prefetched["specialization"]  # type: ignore[no-any-return]
        return specialization_soon(info, self.row.specialization_id)  # type: ignore[return-value]

    @strawberry.field
    def duration_minutes(self) -> int:
        return int((self.row.ends_at - self.row.starts_at).total_seconds() // 60)

    @strawberry.field(description="Who cancelled (counts against an interviewer's reliability).")
    async def cancelled_by(self, info: Info) -> User | None:
        return await load_user_node(info, self.row.cancelled_by_id)

    @strawberry.field(description="The participant a moderator found absent.")
    async def no_show_user(self, info: Info) -> User | None:
        return await load_user_node(info, self.row.no_show_user_id)

    @strawberry.field(description="Whether the viewer has archived this interview.")
    def is_archived(self, info: Info) -> bool:
        viewer = info.context.viewer
        if viewer is None:
            return False
        if viewer.id == self.row.interviewer_id:
            return self.row.archived_by_interviewer
        return viewer.id == self.row.candidate_id and self.row.archived_by_candidate

    @strawberry.field(description="The meeting link (participants, moderators and admins).")
    async def video_link(self, info: Info) -> str | None:
        if not can_view_interview(info.context.viewer, self.row):
            return None
        slot = await info.context.loaders.slot.load(self.row.slot_id)
        return slot.video_link if slot else None

    @strawberry.field(description="Feedback given by the participants, oldest first.")
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
        )
    )
    @fast_getter(lambda self, context, arguments: self.prefetched_messages(context, arguments))
    def messages(
        self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None
    ) -> relay.Connection[Message]:
        # Plain function: a prefetched page is returned as is, otherwise a coroutine that
        # graphql-core awaits (no Strawberry async wrapper per row either way).
        if not can_view_interview(info.context.viewer, self.row):
            return _empty_connection()
        if self.prefetched is not None:
            ready = self.prefetched.get(("messages", first, after, last))
            if ready is not None:
                return ready  # type: ignore[no-any-return]
        return message_connection(info, self.row.id, first, after, last)  # type: ignore[return-value]

    def prefetched_value(self, key: Any) -> Any:
        """What `prefetch_interviews` attached under `key`, else MISSING."""
        if self.prefetched is None:
            return MISSING
        return self.prefetched.get(key, MISSING)

    def prefetched_messages(self, context: Context, arguments: dict[str, Any]) -> Any:
        """`messages(...)` from the prefetched page, as the resolver returns it, else MISSING."""
        if not can_view_interview(context.viewer, self.row):
            return _empty_connection()
        key = ("messages", arguments.get("first"), arguments.get("after"), arguments.get("last"))
        return self.prefetched_value(key)

    def viewer_is_participant(self, info: Info) -> bool:
        """True when the viewer takes part (used by fields that exclude staff)."""
        return is_participant(info.context.viewer, self.row)


def _node_selections(selections: Iterable[Any], path: Sequence[str]) -> list[SelectedField]:
    """The fields selected at `path` (e.g. edges > node) below `selections`, through fragments."""
    found: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, (FragmentSpread, InlineFragment)):
            found.extend(_node_selections(selection.selections, path))
        elif isinstance(selection, SelectedField):
            if not path:
                found.append(selection)
            elif selection.name == path[0]:
                found.extend(_node_selections(selection.selections, path[1:]))
    return found


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


async def prefetch_interviews(info: Info, nodes: Sequence[Interview]) -> None:
    """Load what the selection below `edges { node }` asks for, for all `nodes` at once.

    Participants, topic and message pages go through the same per-request loaders the fields use
    (same statements, same caches), but are attached to each Interview so its fields resolve
    synchronously. Anything not prefetched (other fields, invalid arguments) uses the loaders.
    """
    if not nodes:
        return
    # info.selected_fields holds the page field itself (one entry per merged field node).
    page = [s for f in info.selected_fields if isinstance(f, SelectedField) for s in f.selections]
    fields = _node_selections(page, ("edges", "node"))
    names = {f.name for f in fields}
    for node in nodes:
        node.prefetched = {}
    if "interviewer" in names or "candidate" in names:
        ids = sorted({n.row.interviewer_id for n in nodes} | {n.row.candidate_id for n in nodes})
        users = dict(zip(ids, await user_node_loader(info).load_many(ids), strict=True))
        for node in nodes:
            assert node.prefetched is not None
            node.prefetched["interviewer"] = users[node.row.interviewer_id]
            node.prefetched["candidate"] = users[node.row.candidate_id]
    if "specialization" in names:
        topic_ids = sorted({n.row.specialization_id for n in nodes})
        loaded = await specialization_node_loader(info).load_many(topic_ids)
        topics = dict(zip(topic_ids, loaded, strict=True))
        for node in nodes:
            assert node.prefetched is not None
            node.prefetched["specialization"] = topics[node.row.specialization_id]
    viewer = info.context.viewer
    visible = [n for n in nodes if can_view_interview(viewer, n.row)]
    seen: set[tuple[Any, ...]] = set()
    for field in fields:
        if field.name != "messages" or not visible:
            continue
        # Strawberry gives literals as written (Int literals as str) and variables coerced. A
        # mismatch only means the field misses this cache and uses the loader.
        args = field.arguments
        first, last = _int_or_none(args.get("first")), _int_or_none(args.get("last"))
        after = args.get("after")
        signature = (first, after, last)
        if signature in seen:
            continue
        seen.add(signature)
        try:
            keyed = [message_page_key(info, n.row.id, first, after, last) for n in visible]
        except BadUserInput:
            continue  # the field reports it
        pages = await info.context.loaders.message_page.load_many([key for key, _ in keyed])
        for node, (_, size), rows in zip(visible, keyed, pages, strict=True):
            assert node.prefetched is not None
            node.prefetched[("messages", *signature)] = _message_page(rows, size, after, last)


async def _visible_interview(info: Info, interview_id: int | None) -> Interview | None:
    if interview_id is None:
        return None
    row = await info.context.loaders.interview.load(interview_id)
    if row is None or not can_view_interview(info.context.viewer, row):
        return None
    return Interview.from_row(row)
