"""Marketplace queries and slot/booking mutations (lifecycle lives in schema/marketplace_lifecycle.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from app.core.errors import BadUserInput
from resolvers import slots
from resolvers.interviews import booking
from schema.context import Context
from schema.execution.compiled_pages import my_interviews_sql, open_slots_sql
from schema.execution.compiled_reads import compiled_connection, compiler_of
from schema.execution.fast_execution import Precompleted
from schema.execution.selection import Unsupported
from schema.execution.sql_projection import Query
from schema.ids import decode_cursor, encode_cursor, parse_global_id
from schema.pagination import build_connection, page_size
from schema.permissions import authenticated
from schema.types.marketplace import (
    Interview,
    InterviewStatus,
    Slot,
    message_page_key,
    prefetch_interviews,
)

Info = strawberry.Info[Context, None]


@strawberry.input(description="A new slot on the board.")
class CreateSlotInput:
    specialization_id: strawberry.ID
    starts_at: datetime = strawberry.field(description="With a time zone offset; in the future.")
    duration_minutes: int = strawberry.field(description="15-180.")
    video_link: str = strawberry.field(description="http(s) URL, at most 2000 characters.")
    title: str | None = strawberry.field(default=None, description="At most 200 characters.")
    description: str | None = strawberry.field(default=None, description="At most 2000 characters.")


def _keyset_cursor(after: str | None) -> tuple[datetime, int] | None:
    """(starts_at, id) from a cursor made by `_cursor_of`."""
    if after is None:
        return None
    starts_at, key = decode_cursor(after, 2)
    try:
        return datetime.fromisoformat(str(starts_at)), int(key)
    except (TypeError, ValueError) as exc:
        raise BadUserInput("Malformed cursor.", field="after") from exc


def _slot_cursor(node: Slot) -> str:
    return encode_cursor(node.starts_at.isoformat(), node.id)


def _interview_cursor(node: Interview) -> str:
    return encode_cursor(node.starts_at.isoformat(), node.id)


def _record_cursor(record: Any) -> str:
    return encode_cursor(record["starts_at"].isoformat(), record["id"])


async def _compiled_board(
    info: Info,
    specialization_id: int | None,
    starts_after: datetime | None,
    starts_before: datetime | None,
    after: str | None,
    size: int,
) -> Precompleted | None:
    lower, upper = slots.board_bounds(info.context.uow, starts_after, starts_before)
    keyset = _keyset_cursor(after)
    query = Query()
    compiler = compiler_of(info, query, now=info.context.now())

    def page(query: Query, nodes: list[str]) -> str:
        return open_slots_sql(
            query,
            nodes,
            lower=lower,
            upper=upper,
            specialization_id=specialization_id,
            after=keyset,
            limit=size + 1,
        )

    compiled = await compiled_connection(
        info, compiler, "Slot", page, size=size, has_previous=after is not None, cursor_of=_record_cursor
    )
    if compiled is None:
        return None
    value, records = compiled
    info.context.note_expiry(r["starts_at"] for r in records)  # the board changes when a slot starts
    return value


async def _compiled_mine(
    info: Info, status: list[InterviewStatus] | None, include_archived: bool, after: str | None, size: int
) -> Precompleted | None:
    viewer = info.context.require_viewer()
    keyset = _keyset_cursor(after)
    query = Query()

    def message_page(first: int | None, after: str | None, last: int | None) -> tuple[int, int | None, bool]:
        try:
            key, page_size = message_page_key(info, 0, first, after, last)
        except BadUserInput as exc:
            raise Unsupported("messages arguments") from exc  # the resolver path reports it
        return page_size, key.after_id, key.newest

    compiler = compiler_of(info, query, viewer_id=viewer.id, message_page=message_page)

    def page(query: Query, nodes: list[str]) -> str:
        return my_interviews_sql(
            query,
            nodes,
            viewer_id=viewer.id,
            statuses=[s.value for s in status] if status else None,
            include_archived=include_archived,
            after=keyset,
            limit=size + 1,
        )

    compiled = await compiled_connection(
        info, compiler, "Interview", page, size=size, has_previous=after is not None, cursor_of=_record_cursor
    )
    return compiled[0] if compiled is not None else None


@strawberry.type
class MarketplaceQuery:
    @strawberry.field(description="Open slots that start in the future, soonest first. Public.")
    async def open_slots(
        self,
        info: Info,
        specialization_id: strawberry.ID | None = None,
        starts_after: datetime | None = None,
        starts_before: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> relay.Connection[Slot]:
        size = page_size(first, info.context.settings)
        spec = (
            parse_global_id(specialization_id, "Specialization", field="specializationId")
            if specialization_id
            else None
        )
        if info.context.settings.compiled_reads:
            compiled = await _compiled_board(info, spec, starts_after, starts_before, after, size)
            if compiled is not None:
                return compiled  # type: ignore[return-value]  # passed through by the executor
        rows = await slots.open_slots(
            info.context.uow,
            specialization_id=spec,
            starts_after=starts_after,
            starts_before=starts_before,
            after=_keyset_cursor(after),
            limit=size + 1,
        )
        info.context.note_expiry(r.starts_at for r in rows)  # the board changes when a slot starts
        nodes = [Slot.from_row(r) for r in rows]
        return build_connection(nodes, size, _slot_cursor, has_previous=after is not None)

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
        size = page_size(first, info.context.settings)
        if info.context.settings.compiled_reads:
            compiled = await _compiled_mine(info, status, include_archived, after, size)
            if compiled is not None:
                return compiled  # type: ignore[return-value]  # passed through by the executor
        rows = await booking.my_interviews(
            info.context.uow,
            info.context.require_viewer(),
            statuses=[s.value for s in status] if status else None,
            include_archived=include_archived,
            after=_keyset_cursor(after),
            limit=size + 1,
        )
        nodes = [Interview.from_row(r) for r in rows]
        await prefetch_interviews(info, nodes[:size])
        return build_connection(nodes, size, _interview_cursor, has_previous=after is not None)

    @strawberry.field(description="An interview; null unless the viewer takes part or is staff.")
    async def interview(self, info: Info, id: strawberry.ID) -> Interview | None:
        row = await booking.get_interview(
            info.context.uow, info.context.optional_viewer(), parse_global_id(id, "Interview")
        )
        return Interview.from_row(row) if row else None


@strawberry.type
class MarketplaceMutation:
    @strawberry.mutation(description="Publish a slot.", extensions=authenticated())
    async def create_slot(self, info: Info, input: CreateSlotInput) -> Slot:
        row = await slots.create_slot(
            info.context.uow,
            info.context.require_viewer(),
            specialization_id=parse_global_id(
                input.specialization_id, "Specialization", field="specializationId"
            ),
            starts_at=input.starts_at,
            duration_minutes=input.duration_minutes,
            video_link_value=input.video_link,
            title=input.title,
            description=input.description,
        )
        return Slot.from_row(row)

    @strawberry.mutation(
        description="Take an open slot off the board (host only).", extensions=authenticated()
    )
    async def withdraw_slot(self, info: Info, id: strawberry.ID) -> Slot:
        return Slot.from_row(
            await slots.withdraw_slot(
                info.context.uow, info.context.require_viewer(), parse_global_id(id, "Slot")
            )
        )

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
