"""Specialization fields: the public catalogue and adding to it (admins)."""

from __future__ import annotations

import strawberry

from resolvers import specializations
from schema.context import Info
from schema.permissions import ADMIN_ROLES, requires_role
from schema.specializations.types import Specialization


@strawberry.type
class SpecializationsQuery:
    @strawberry.field(description="All specializations, by name.")
    async def specializations(self, info: Info) -> list[Specialization]:
        return [
            Specialization.from_row(r) for r in await specializations.list_specializations(info.context.uow)
        ]


@strawberry.type
class SpecializationsMutation:
    @strawberry.mutation(description="Add an interview topic.", extensions=requires_role(*ADMIN_ROLES))
    async def create_specialization(self, info: Info, name: str) -> Specialization:
        return Specialization.from_row(
            await specializations.create_specialization(info.context.uow, info.context.require_viewer(), name)
        )
