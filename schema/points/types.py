"""GraphQL type of ledger entries and the `User.pointsLedger` connection."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from app.core.enums import LedgerKind
from db import models
from resolvers import points
from schema.context import Info
from schema.ids import node_keys
from schema.interviews.types import Interview, _visible_interview

strawberry.enum(LedgerKind, name="PointsKind", description="Why a balance changed.")


@strawberry.type(name="PointsEntry", description="One append-only change of a member's balance.")
class PointsEntry(relay.Node):
    id: relay.NodeID[int]
    amount: int = strawberry.field(description="Signed: negative for spends and penalties.")
    kind: LedgerKind
    reason: str | None
    created_at: datetime
    balance_after: int
    user_id: strawberry.Private[int]
    interview_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: models.PointsEntry) -> PointsEntry:
        return cls(
            id=row.id,
            amount=row.amount,
            kind=LedgerKind(row.kind),
            reason=row.reason,
            created_at=row.created_at,
            balance_after=row.balance_after,
            user_id=row.user_id,
            interview_id=row.interview_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[PointsEntry | None]:
        rows = await points.visible_ledger_entries(info.context.uow, info.context.viewer, node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]

    @strawberry.field(description="The interview this entry pays for, if any.")
    async def interview(self, info: Info) -> Interview | None:
        return await _visible_interview(info, self.interview_id)
