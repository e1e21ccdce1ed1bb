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
from schema.compiled.execution import Precompleted
from schema.compiled.pages import Page
from schema.compiled.plans import FieldRequest, compiled_page, request_of
from schema.compiled.roots import root_read
from schema.context import Context, Info
from schema.ids import parse_global_id
from schema.live_context import EventScope
from schema.pagination import _keyset_cursor, page_size
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


# The board: the same statement on both paths (resolvers/slots.py).
OPEN_SLOTS = Page(Slot, slots.open_slots_statement, ("starts_at", "id"))


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


def _board_values(
    context: Context,
    specialization_id: strawberry.ID | None,
    starts_after: datetime | None,
    starts_before: datetime | None,
    first: int | None,
    after: str | None,
) -> tuple[dict[str, Any], int]:
    """The board statement's values and the page size, from the field's arguments."""
    size = page_size(first, context.settings)
    spec = (
        parse_global_id(specialization_id, "Specialization", field="specializationId")
        if specialization_id
        else None
    )
    lower, upper = slots.board_bounds(context.uow, starts_after, starts_before)
    values = {"lower": lower, "upper": upper, "specialization_id": spec, "after": _keyset_cursor(after)}
    return {**values, "limit": size + 1}, size


@root_read("openSlots")
async def answer_board(
    request: FieldRequest,
    specialization_id: strawberry.ID | None = None,
    starts_after: datetime | None = None,
    starts_before: datetime | None = None,
    first: int | None = None,
    after: str | None = None,
) -> Precompleted | None:
    context = request.context
    values, size = _board_values(context, specialization_id, starts_after, starts_before, first, after)
    compiled = await compiled_page(request, OPEN_SLOTS, values, size=size, has_previous=after is not None)
    if compiled is None:
        return None
    value, records = compiled
    context.note_expiry(r["starts_at"] for r in records)  # the board changes when a slot starts
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
        arguments = (specialization_id, starts_after, starts_before, first, after)
        compiled = await answer_board(request_of(info), *arguments)
        if compiled is not None:
            return compiled  # type: ignore[return-value]  # passed through by the executor
        values, size = _board_values(info.context, *arguments)
        rows = await slots.open_slots(
            info.context.uow,
            specialization_id=values["specialization_id"],
            starts_after=starts_after,
            starts_before=starts_before,
            after=values["after"],
            limit=size + 1,
        )
        info.context.note_expiry(r.starts_at for r in rows)  # the board changes when a slot starts
        return OPEN_SLOTS.connection(rows, size, has_previous=after is not None)


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
