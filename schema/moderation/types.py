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
from schema.accounts.types import User
from schema.compiled.compiler import Scope
from schema.compiled.mapped import Mapped, relation, sql
from schema.context import Info
from schema.ids import node_keys
from schema.interviews.types import Interview
from schema.visibility import reporter_accused_or_staff, staff

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


def _is_active_sql(scope: Scope) -> str:
    """`Block.is_active` at the request's clock."""
    until, now = scope.column("until"), scope.params.now()
    return f"({scope.column('unblocked_at')} IS NULL AND ({until} IS NULL OR {until} > {now}))"


@strawberry.type(name="Block", description="One block of a member, in force or past (moderators and admins).")
class Block(relay.Node, Mapped, model=models.Block):
    id: relay.NodeID[int]
    reason: str
    created_at: datetime = strawberry.field(description="When the member was blocked.")
    until: datetime | None = strawberry.field(description="End of a temporary block; null for good.")
    unblocked_at: datetime | None = strawberry.field(
        description="When it was lifted, replaced by a new block, or ran out (if before either)."
    )
    row: strawberry.Private[models.Block]
    user: User | None = relation("user_id", description="The blocked member.")
    blocked_by: User | None = relation(
        "blocked_by_id", description="Who blocked them; null for blocks from before this history was kept."
    )
    unblocked_by: User | None = relation(
        "unblocked_by_id", description="Who lifted or replaced it; null while in force or when it ran out."
    )

    sql_visible = staticmethod(staff)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Block | None]:
        rows = await visible_blocks(info.context.uow, info.context.viewer, node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]

    @strawberry.field(description="True while the block is in force.", metadata=sql(_is_active_sql))
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
