"""GraphQL type of specializations and its per-request node loader."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader

from db import models
from schema.compiled.mapped import Mapped, public, sql
from schema.context import Info
from schema.ids import node_keys


async def load_specialization_node(info: Info, specialization_id: int) -> Specialization | None:
    return await specialization_node_loader(info).load(specialization_id)


def specialization_node_loader(info: Info) -> DataLoader[int, Specialization | None]:
    """Per-request ready-made `Specialization` objects: a view of the request's one specialization
    cache (`loaders.specialization`), cleared with it."""
    return Specialization.node_loader(info)


def specialization_soon(info: Info, specialization_id: int) -> Awaitable[Specialization | None]:
    result: Awaitable[Specialization | None] = specialization_node_loader(info).load(specialization_id)
    return result


@strawberry.type(name="Specialization", description="An interview topic, e.g. 'System design'.")
class Specialization(relay.Node, Mapped, model=models.Specialization):
    id: relay.NodeID[int]
    name: str
    archived_at: datetime | None = strawberry.field(
        description="When an admin archived it (it then takes no new slots); null while in use."
    )
    row: strawberry.Private[models.Specialization]

    sql_visible = staticmethod(public)

    @strawberry.field(
        description="True once archived: it takes no new slots.",
        metadata=sql(lambda s: f"({s.column('archived_at')} IS NOT NULL)"),
    )
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Specialization | None]:
        return await specialization_node_loader(info).load_many(node_keys(node_ids))
