"""GraphQL type of an audit log entry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from db import models
from schema.accounts.types import User
from schema.context import Info
from schema.ids import node_keys
from schema.permissions import is_admin

if TYPE_CHECKING:
    pass


@strawberry.type(name="AuditEntry", description="An administrative or security event.")
class AuditEntry(relay.Node):
    id: relay.NodeID[int]
    action: str
    created_at: datetime
    details: JSON
    actor_id: strawberry.Private[int | None]
    target_type: str | None
    target_key: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: models.AuditEntry) -> AuditEntry:
        details: Any = row.details
        return cls(
            id=row.id,
            action=row.action,
            created_at=row.created_at,
            details=details,
            actor_id=row.actor_id,
            target_type=row.target_type,
            target_key=row.target_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[AuditEntry | None]:
        """Admins only, as the `auditLog` field; null for everyone else."""
        keys = node_keys(node_ids)
        if not is_admin(info.context):
            return [None for _ in keys]
        rows = await info.context.loaders.audit_entry.load_many(keys)
        return [cls.from_row(row) if row else None for row in rows]

    @strawberry.field(description="Who did it; null for anonymous or system actions.")
    async def actor(self, info: Info) -> User | None:
        if self.actor_id is None:
            return None
        row = await info.context.loaders.user.load(self.actor_id)
        return User.from_row(row) if row else None

    @strawberry.field(description="Global ID of the object acted on.")
    def target(self) -> strawberry.ID | None:
        if self.target_type is None or self.target_key is None:
            return None
        return strawberry.ID(str(relay.GlobalID(self.target_type, str(self.target_key))))
