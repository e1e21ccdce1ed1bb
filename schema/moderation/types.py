"""GraphQL types of moderation: no-show reports and platform figures."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from app.core.enums import NoShowStatus
from db import models
from resolvers.interviews.lifecycle import visible_no_show_reports
from schema.accounts.types import User
from schema.compiled.mapped import Mapped, relation
from schema.context import Info
from schema.visibility import reporter_accused_or_staff
from schema.ids import node_keys
from schema.interviews.types import Interview

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
