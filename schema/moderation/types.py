"""GraphQL types of moderation: no-show reports and platform figures."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum

import strawberry
from sqlalchemy import select
from strawberry import relay

from db import models
from schema.accounts.types import User, load_user_node
from schema.context import Info
from schema.interviews.types import Interview, _visible_interview
from schema.permissions import is_staff


@strawberry.enum(description="State of a no-show report.")
class NoShowStatus(Enum):
    OPEN = "OPEN"
    UPHELD = "UPHELD"
    REJECTED = "REJECTED"


@strawberry.type(name="NoShowReport", description="A participant's report that the other did not show up.")
class NoShowReport(relay.Node):
    id: relay.NodeID[int]
    status: NoShowStatus
    reason: str | None
    note: str | None = strawberry.field(description="The moderator's note.")
    created_at: datetime
    resolved_at: datetime | None
    interview_id: strawberry.Private[int]
    reporter_id: strawberry.Private[int]
    accused_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: models.NoShowReport) -> NoShowReport:
        return cls(
            id=row.id,
            status=NoShowStatus(row.status),
            reason=row.reason,
            note=row.note,
            created_at=row.created_at,
            resolved_at=row.resolved_at,
            interview_id=row.interview_id,
            reporter_id=row.reporter_id,
            accused_id=row.accused_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[NoShowReport | None]:
        ids = [int(i) for i in node_ids]
        viewer = info.context.viewer
        statement = select(models.NoShowReport).where(models.NoShowReport.id.in_(ids))
        by_id = {row.id: row for row in (await info.context.db.execute(statement)).scalars()}
        return [
            cls.from_row(by_id[i])
            if i in by_id
            and viewer is not None
            and (viewer.id in (by_id[i].reporter_id, by_id[i].accused_id) or is_staff(info.context))
            else None
            for i in ids
        ]

    @strawberry.field
    async def interview(self, info: Info) -> Interview | None:
        return await _visible_interview(info, self.interview_id)

    @strawberry.field
    async def reporter(self, info: Info) -> User | None:
        return await load_user_node(info, self.reporter_id)

    @strawberry.field(description="The participant reported as absent.")
    async def accused(self, info: Info) -> User | None:
        return await load_user_node(info, self.accused_id)


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
