"""Points fields: admin adjustments."""

from __future__ import annotations

import strawberry

from resolvers import points
from schema.context import Info
from schema.ids import parse_global_id
from schema.permissions import ADMIN_ROLES, requires_role
from schema.points.types import PointsEntry


@strawberry.type
class PointsMutation:
    @strawberry.mutation(
        description="Add or remove points (admins); needs a reason, never below zero.",
        extensions=requires_role(*ADMIN_ROLES),
    )
    async def adjust_points(
        self, info: Info, user_id: strawberry.ID, amount: int, reason: str
    ) -> PointsEntry:
        key = parse_global_id(user_id, "User", field="userId")
        return PointsEntry.from_row(
            await points.adjust_points(info.context.uow, info.context.require_viewer(), key, amount, reason)
        )
