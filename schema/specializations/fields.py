"""Specialization fields: the public catalogue and managing it (admins)."""

from __future__ import annotations

import strawberry

from resolvers import specializations
from schema.compiled.pages import Page
from schema.compiled.plans import compiled_list
from schema.context import Info
from schema.ids import parse_global_id
from schema.permissions import ADMIN_ROLES, requires_role
from schema.specializations.types import Specialization

# The list of topics: the same statement on both paths (resolvers/specializations.py).
SPECIALIZATIONS = Page(
    Specialization,
    specializations.specializations_statement,
    ("id",),
    order=lambda alias: f"lower({alias}.name), {alias}.id",
)


@strawberry.type
class SpecializationsQuery:
    @strawberry.field(description="Specializations by name; archived ones only when asked for.")
    async def specializations(self, info: Info, include_archived: bool = False) -> list[Specialization]:
        values = {"include_archived": include_archived}
        compiled = await compiled_list(info, SPECIALIZATIONS, values)
        if compiled is not None:
            return compiled  # type: ignore[return-value]  # passed through by the executor
        rows = await specializations.list_specializations(info.context.uow, include_archived=include_archived)
        return [Specialization.from_row(r) for r in rows]


@strawberry.type
class SpecializationsMutation:
    @strawberry.mutation(description="Add an interview topic.", extensions=requires_role(*ADMIN_ROLES))
    async def create_specialization(self, info: Info, name: str) -> Specialization:
        return Specialization.from_row(
            await specializations.create_specialization(info.context.uow, info.context.require_viewer(), name)
        )

    @strawberry.mutation(
        description="Rename a topic (names are unique, case-insensitively) and/or archive or restore it. "
        "An archived topic takes no new slots; its slots, interviews and content stay.",
        extensions=requires_role(*ADMIN_ROLES),
    )
    async def update_specialization(
        self, info: Info, id: strawberry.ID, name: str | None = None, archived: bool | None = None
    ) -> Specialization:
        row = await specializations.update_specialization(
            info.context.uow,
            info.context.require_viewer(),
            parse_global_id(id, "Specialization"),
            name=name,
            archived=archived,
        )
        return Specialization.from_row(row)
