"""GraphQL type of specializations and its per-request node loader."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Sequence

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader

from dataloaders.specializations import load_specializations
from db import models
from schema.context import Info


async def load_specialization_node(info: Info, specialization_id: int) -> Specialization | None:
    row = await info.context.loaders.specialization.load(specialization_id)
    return Specialization.from_row(row) if row else None


def specialization_node_loader(info: Info) -> DataLoader[int, Specialization | None]:
    loaders = info.context.loaders
    loader: DataLoader[int, Specialization | None] | None = loaders.nodes.get("specialization")
    if loader is None:

        async def load(ids: Sequence[int]) -> list[Specialization | None]:
            rows = await load_specializations(loaders.db, ids)
            return [Specialization.from_row(r) if r else None for r in rows]

        loader = loaders.nodes["specialization"] = DataLoader(load)
    return loader


def specialization_soon(info: Info, specialization_id: int) -> Awaitable[Specialization | None]:
    result: Awaitable[Specialization | None] = specialization_node_loader(info).load(specialization_id)
    return result


@strawberry.type(name="Specialization", description="An interview topic, e.g. 'System design'.")
class Specialization(relay.Node):
    id: relay.NodeID[int]
    name: str

    @classmethod
    def from_row(cls, row: models.Specialization) -> Specialization:
        return cls(id=row.id, name=row.name)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Specialization | None]:
        rows = await info.context.loaders.specialization.load_many([int(i) for i in node_ids])
        return [cls.from_row(row) if row else None for row in rows]
