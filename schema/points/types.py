"""GraphQL type of ledger entries and the `User.pointsLedger` connection."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import partial

import strawberry
from strawberry import relay

from app.core.enums import LedgerKind
from db import models
from resolvers import points
from schema.compiled.mapped import Mapped, relation
from schema.context import Info
from schema.ids import node_keys
from schema.interviews.types import Interview
from schema.visibility import owner

strawberry.enum(LedgerKind, name="PointsKind", description="Why a balance changed.")


@strawberry.type(name="PointsEntry", description="One append-only change of a member's balance.")
class PointsEntry(relay.Node, Mapped, model=models.PointsEntry, loader="points_entry"):
    id: relay.NodeID[int]
    amount: int = strawberry.field(description="Signed: negative for spends and penalties.")
    kind: LedgerKind
    reason: str | None
    created_at: datetime
    balance_after: int
    row: strawberry.Private[models.PointsEntry]
    interview: Interview | None = relation(
        "interview_id", description="The interview this entry pays for, if any."
    )

    sql_visible = staticmethod(partial(owner, admins=True))

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[PointsEntry | None]:
        rows = await points.visible_ledger_entries(info.context.uow, info.context.viewer, node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]
