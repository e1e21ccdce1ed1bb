"""GraphQL types of slots and board events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from app.core.enums import InterviewStatus, SlotEventKind, SlotStatus
from db import models
from schema.accounts.types import User
from schema.compiled.compiler import Scope
from schema.compiled.mapped import Mapped, public, relation, sql
from schema.context import Info
from schema.ids import node_keys
from schema.permissions import is_staff
from schema.specializations.types import Specialization

strawberry.enum(SlotStatus, name="SlotStatus", description="Whether a slot can be booked.")


def _video_link_sql(scope: Scope) -> str:
    """`Slot.videoLink`: the host, staff and the booked candidate (as the resolver decides)."""
    compiler = scope.compiler
    if compiler.role is None:
        return "NULL"
    if compiler.is_staff:
        return scope.column("video_link")
    viewer, booked = scope.params.viewer(), SlotStatus.BOOKED.value
    candidate = (
        f"EXISTS (SELECT 1 FROM interviews i WHERE i.slot_id = {scope.column('id')} "  # noqa: S608  (aliases and parameters)
        f"AND i.status <> '{InterviewStatus.CANCELLED.value}' AND i.candidate_id = {viewer})"
    )
    return (
        f"CASE WHEN {scope.column('host_id')} = {viewer} OR ({scope.column('status')} = '{booked}' "
        f"AND {candidate}) THEN {scope.column('video_link')} END"
    )


@strawberry.type(name="Slot", description="A time an interviewer offers; bookable while open.")
class Slot(relay.Node, Mapped, model=models.Slot):
    id: relay.NodeID[int]
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    title: str | None
    description: str | None
    status: SlotStatus
    created_at: datetime
    row: strawberry.Private[models.Slot]
    host: User | None = relation("host_id", description="The interviewer who offers the slot.")
    specialization: Specialization | None = relation("specialization_id")

    sql_visible = staticmethod(public)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Slot | None]:
        return await cls.node_loader(info).load_many(node_keys(node_ids))

    @strawberry.field(
        description="True while the slot can be booked (open and in the future).",
        metadata=sql(
            lambda s: (
                f"({s.column('status')} = '{SlotStatus.OPEN.value}' "
                f"AND {s.column('starts_at')} > {s.params.now()})"
            )
        ),
    )
    def is_open(self, info: Info) -> bool:
        return self.status == SlotStatus.OPEN and self.starts_at > info.context.now()

    @strawberry.field(
        description="Only for the host, the booked candidate, moderators and admins; null otherwise.",
        metadata=sql(_video_link_sql),
    )
    async def video_link(self, info: Info) -> str | None:
        viewer = info.context.viewer
        if viewer is None:
            return None
        if viewer.id == self.row.host_id or is_staff(info.context):
            return self.row.video_link
        if self.status != SlotStatus.BOOKED:
            return None
        active = await info.context.loaders.slot_active_interview.load(self.id)
        return self.row.video_link if active and active.candidate_id == viewer.id else None


strawberry.enum(SlotEventKind, name="SlotEventKind", description="What happened to a slot on the open board.")


@strawberry.type(description="A change on the open-slot board.")
class SlotEvent:
    kind: SlotEventKind
    slot: Slot
