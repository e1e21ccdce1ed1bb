"""The Relay `node` root field: any object by its global ID."""

from __future__ import annotations

import strawberry
from strawberry import relay

from app.core.errors import BadUserInput
from schema.context import Info


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Fetch any object by its global ID (null when not visible to you).")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        try:
            global_id = relay.GlobalID.from_id(id)
        except ValueError as exc:
            raise BadUserInput("Malformed ID.", field="id") from exc
        if info.schema.get_type_by_name(global_id.type_name) is None:
            return None
        node: relay.Node | None = await global_id.resolve_node(info, required=False)
        return node
