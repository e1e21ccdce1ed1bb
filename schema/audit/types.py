"""GraphQL type of an audit log entry."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from db import models
from schema.accounts.types import User
from schema.context import Info

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
