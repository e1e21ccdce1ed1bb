"""Slot fields: the open-slot board (a compiled read), publishing, withdrawing and live board events."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from app.core.enums import SlotEventKind
from resolvers import slots
from schema import subscriptions
from schema.context import Info
from schema.execution.compiled_pages import open_slots_sql
from schema.execution.compiled_reads import compiled_connection, compiler_of
from schema.execution.fast_execution import Precompleted
from schema.execution.sql_projection import Query
from schema.ids import encode_cursor, parse_global_id
from schema.live_context import EventScope
from schema.pagination import _keyset_cursor, _record_cursor, build_connection, page_size
from schema.permissions import authenticated
from schema.slots.types import Slot, SlotEvent


@strawberry.input(description="A new slot on the board.")
class CreateSlotInput:
    specialization_id: strawberry.ID
    starts_at: datetime = strawberry.field(description="With a time zone offset; in the future.")
    duration_minutes: int = strawberry.field(description="15-180.")
    video_link: str = strawberry.field(description="http(s) URL, at most 2000 characters.")
    title: str | None = strawberry.field(default=None, description="At most 200 characters.")
    description: str | None = strawberry.field(default=None, description="At most 2000 characters.")


@strawberry.input(description="Changes to an open slot; omitted fields stay as they are.")
class UpdateSlotInput:
    starts_at: datetime | None = strawberry.field(
        default=None, description="With a time zone offset; in the future."
    )
    duration_minutes: int | None = strawberry.field(default=None, description="15-180.")
    video_link: str | None = strawberry.field(
        default=None, description="http(s) URL, at most 2000 characters."
    )
    title: str | None = strawberry.field(default=None, description='At most 200 characters; "" clears it.')
    description: str | None = strawberry.field(
        default=None, description='At most 2000 characters; "" clears it.'
    )


def _slot_cursor(node: Slot) -> str:
    return encode_cursor(node.starts_at.isoformat(), node.id)


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


@strawberry.type
class SlotsQuery:
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


@strawberry.type
class SlotsMutation:
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
        description="Change an open slot that has not started (host only): time, duration, video link, "
        "title, description. Board subscribers get an UPDATED event.",
        extensions=authenticated(),
    )
    async def update_slot(self, info: Info, id: strawberry.ID, input: UpdateSlotInput) -> Slot:
        changes = slots.SlotChanges(
            starts_at=input.starts_at,
            duration_minutes=input.duration_minutes,
            video_link=input.video_link,
            title=input.title,
            description=input.description,
        )
        row = await slots.update_slot(
            info.context.uow, info.context.require_viewer(), parse_global_id(id, "Slot"), changes
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


@strawberry.type
class SlotsSubscription:
    @strawberry.subscription(description="Changes on the open-slot board (public; no video links).")
    async def open_slots_changed(
        self, info: Info, specialization_id: strawberry.ID | None = None
    ) -> AsyncGenerator[SlotEvent, None]:
        context = info.context
        context.optional_viewer()
        spec = (
            parse_global_id(specialization_id, "Specialization", field="specializationId")
            if specialization_id
            else None
        )

        async def build(message: dict[str, Any], scope: EventScope) -> SlotEvent | None:
            row = await scope.loaders.slot.load(int(message["slot_id"]))
            if row is None or (spec is not None and row.specialization_id != spec):
                return None
            return SlotEvent(kind=SlotEventKind(message["kind"]), slot=Slot.from_row(row))

        async for event in subscriptions.follow(context, context.services.channels.board(), build):
            yield event
