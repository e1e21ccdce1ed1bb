"""GraphQL types of moderation: no-show reports, block records and platform figures."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from app.core.enums import NoShowStatus
from db import models
from resolvers.interviews.lifecycle import visible_no_show_reports
from resolvers.moderation import visible_blocks
from schema.accounts.types import User, load_user_node
from schema.compiled.mapped import Mapped, relation
from schema.context import Info
from schema.ids import node_keys
from schema.interviews.types import Interview
from schema.visibility import reporter_accused_or_staff

strawberry.enum(NoShowStatus, name="NoShowStatus", description="State of a no-show report.")


@strawberry.type(name="NoShowReport", description="A participant's report that the other did not show up.")
class NoShowReport(relay.Node, Mapped, model=models.NoShowReport):
    id: relay.NodeID[int]
    status: NoShowStatus
    reason: str | None
    note: str | None = strawberry.field(description="The moderator's note.")
    created_at: datetime
    resolved_at: datetime | None
    row: strawberry.Private[models.NoShowReport]
    interview: Interview | None = relation("interview_id")
    reporter: User | None = relation("reporter_id")
    accused: User | None = relation("accused_id", description="The participant reported as absent.")

    sql_visible = staticmethod(reporter_accused_or_staff)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[NoShowReport | None]:
        rows = await visible_no_show_reports(info.context.uow, info.context.viewer, node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]


@strawberry.type(name="Block", description="One block of a member, in force or past (moderators and admins).")
class Block(relay.Node):
    id: relay.NodeID[int]
    reason: str
    created_at: datetime = strawberry.field(description="When the member was blocked.")
    until: datetime | None = strawberry.field(description="End of a temporary block; null for good.")
    unblocked_at: datetime | None = strawberry.field(
        description="When it was lifted, replaced by a new block, or ran out (if before either)."
    )
    user_id: strawberry.Private[int]
    blocked_by_id: strawberry.Private[int | None]
    unblocked_by_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: models.Block) -> Block:
        return cls(
            id=row.id,
            reason=row.reason,
            created_at=row.created_at,
            until=row.until,
            unblocked_at=row.unblocked_at,
            user_id=row.user_id,
            blocked_by_id=row.blocked_by_id,
            unblocked_by_id=row.unblocked_by_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Block | None]:
        rows = await visible_blocks(info.context.uow, info.context.viewer, node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]

    @strawberry.field(description="The blocked member.")
    async def user(self, info: Info) -> User | None:
        return await load_user_node(info, self.user_id)

    @strawberry.field(description="Who blocked them; null for blocks from before this history was kept.")
    async def blocked_by(self, info: Info) -> User | None:
        return await load_user_node(info, self.blocked_by_id)

    @strawberry.field(description="Who lifted or replaced it; null while in force or when it ran out.")
    async def unblocked_by(self, info: Info) -> User | None:
        return await load_user_node(info, self.unblocked_by_id)

    @strawberry.field(description="True while the block is in force.")
    def is_active(self, info: Info) -> bool:
        return self.unblocked_at is None and (self.until is None or self.until > info.context.now())


@strawberry.type(description="Number of interviews in one status.")
class InterviewStatusCount:
    status: str
    count: int


@strawberry.type(description="Platform figures for admins.")
class PlatformStats:
    members: int
    blocked_members: int
    interviews_by_status: list[InterviewStatusCount]
    points_in_circulation: int = strawberry.field(description="Sum of all members' balances.")
    no_show_rate: float = strawberry.field(
        description="NO_SHOW / (COMPLETED + NO_SHOW) interviews; 0 before any finished."
    )
