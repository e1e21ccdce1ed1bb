"""The Relay `node` root field: any object by its global ID."""

from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.utils.await_maybe import await_maybe

from app.core.errors import BadUserInput
from schema.compiled.mapped import Mapped
from schema.compiled.plans import compiled_object
from schema.context import Info
from schema.ids import decode_global_id


def node_type(info: Info, type_name: str) -> type[relay.Node]:
    """The object type implementing Node that is called `type_name`; BAD_USER_INPUT for any other name."""
    definition = info.schema.get_type_by_name(type_name)
    origin = getattr(definition, "origin", None)
    if (
        not isinstance(definition, StrawberryObjectDefinition)
        or definition.is_interface
        or not isinstance(origin, type)
        or not issubclass(origin, relay.Node)
    ):
        raise BadUserInput("Not the ID of an object.", field="id")
    return origin


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Fetch any object by its global ID (null when not visible to you).")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        type_name, key = decode_global_id(id)
        origin = node_type(info, type_name)
        if key <= 0:
            return None  # names no row
        if issubclass(origin, Mapped):
            compiled = await compiled_object(info, origin, {"id": key})
            if compiled is not None:
                return compiled  # type: ignore[return-value]  # passed through by the executor
        # Each type's `resolve_nodes` applies its visibility rule (None for what the viewer may not see).
        nodes = await await_maybe(origin.resolve_nodes(info=info, node_ids=[str(key)], required=False))
        return next(iter(nodes), None)
