"""GraphQL types of slots and board events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from app.core.enums import SlotEventKind, SlotStatus
from db import models
from schema.accounts.types import User, user_soon
from schema.context import Info
from schema.ids import node_keys
from schema.permissions import is_staff
from schema.specializations.types import (
    Specialization,
    specialization_soon,
)

strawberry.enum(SlotStatus, name="SlotStatus", description="Whether a slot can be booked.")


@strawberry.type(name="Slot", description="A time an interviewer offers; bookable while open.")
class Slot(relay.Node):
    id: relay.NodeID[int]
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    title: str | None
    description: str | None
    status: SlotStatus
    created_at: datetime
    host_id: strawberry.Private[int]
    specialization_id: strawberry.Private[int]
    video_link_value: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: models.Slot) -> Slot:
        return cls(
            id=row.id,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            duration_minutes=row.duration_minutes,
            title=row.title,
            description=row.description,
            status=SlotStatus(row.status),
            created_at=row.created_at,
            host_id=row.host_id,
            specialization_id=row.specialization_id,
            video_link_value=row.video_link,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Slot | None]:
        rows = await info.context.loaders.slot.load_many(node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]

    @strawberry.field(description="The interviewer who offers the slot.")
    def host(self, info: Info) -> User | None:
        return user_soon(info, self.host_id)  # type: ignore[return-value]  # awaited by graphql-core

    @strawberry.field
    def specialization(self, info: Info) -> Specialization | None:
        return specialization_soon(info, self.specialization_id)  # type: ignore[return-value]

    @strawberry.field(description="True while the slot can be booked (open and in the future).")
    def is_open(self, info: Info) -> bool:
        return self.status == SlotStatus.OPEN and self.starts_at > info.context.now()

    @strawberry.field(
        description="Only for the host, the booked candidate, moderators and admins; null otherwise."
    )
    async def video_link(self, info: Info) -> str | None:
        viewer = info.context.viewer
        if viewer is None:
            return None
        if viewer.id == self.host_id or is_staff(info.context):
            return self.video_link_value
        if self.status != SlotStatus.BOOKED:
            return None
        active = await info.context.loaders.slot_active_interview.load(self.id)
        return self.video_link_value if active and active.candidate_id == viewer.id else None


strawberry.enum(SlotEventKind, name="SlotEventKind", description="What happened to a slot on the open board.")


@strawberry.type(description="A change on the open-slot board.")
class SlotEvent:
    kind: SlotEventKind
    slot: Slot
