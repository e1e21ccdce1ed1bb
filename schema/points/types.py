"""GraphQL type of ledger entries and the `User.pointsLedger` connection."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum

import strawberry
from sqlalchemy import select
from strawberry import relay

from db import models
from resolvers import points
from schema.context import Info
from schema.ids import decode_cursor, encode_cursor
from schema.interviews.types import Interview, _visible_interview
from schema.pagination import build_connection, page_size
from schema.permissions import is_admin


@strawberry.enum(description="Why a balance changed.")
class PointsKind(Enum):
    GRANT = "GRANT"
    SPEND = "SPEND"
    REFUND = "REFUND"
    REWARD = "REWARD"
    PENALTY = "PENALTY"
    ADJUSTMENT = "ADJUSTMENT"


@strawberry.type(name="PointsEntry", description="One append-only change of a member's balance.")
class PointsEntry(relay.Node):
    id: relay.NodeID[int]
    amount: int = strawberry.field(description="Signed: negative for spends and penalties.")
    kind: PointsKind
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
            kind=PointsKind(row.kind),
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
        ids = [int(i) for i in node_ids]
        viewer = info.context.viewer
        statement = select(models.PointsEntry).where(models.PointsEntry.id.in_(ids))
        by_id = {row.id: row for row in (await info.context.db.execute(statement)).scalars()}
        return [
            cls.from_row(by_id[i])
            if i in by_id and viewer is not None and (by_id[i].user_id == viewer.id or is_admin(info.context))
            else None
            for i in ids
        ]

    @strawberry.field(description="The interview this entry pays for, if any.")
    async def interview(self, info: Info) -> Interview | None:
        return await _visible_interview(info, self.interview_id)


async def user_points_ledger(
    info: Info, user_id: int, first: int | None, after: str | None
) -> relay.Connection[PointsEntry] | None:
    """`User.pointsLedger`: only the member themself and admins; null for everyone else."""
    viewer = info.context.viewer
    if viewer is None or (viewer.id != user_id and not is_admin(info.context)):
        return None
    size = page_size(first, info.context.settings)
    after_id = int(decode_cursor(after, 1)[0]) if after else None
    rows = await points.ledger_entries(info.context.uow, user_id, after_id=after_id, limit=size + 1)
    nodes = [PointsEntry.from_row(r) for r in rows]
    return build_connection(nodes, size, lambda n: encode_cursor(n.id), has_previous=after is not None)
