"""The audit log (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from resolvers import audit
from schema.audit.types import AUDIT_LOG, AuditEntry
from schema.compiled.plans import compiled_page
from schema.context import Info
from schema.ids import parse_global_id
from schema.pagination import after_id, page_size
from schema.permissions import ADMIN_ROLES, requires_role


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Administrative and security events, newest first (admins only).",
        extensions=requires_role(*ADMIN_ROLES),
    )
    async def audit_log(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        action: str | None = None,
        actor_id: strawberry.ID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> relay.Connection[AuditEntry]:
        size = page_size(first, info.context.settings)
        actor_key = parse_global_id(actor_id, "User", field="actorId") if actor_id else None
        values: dict[str, Any] = {
            "after_id": after_id(after),
            "limit": size + 1,
            "action": action or None,
            "actor_id": actor_key,
            "since": since,
            "until": until,
        }
        compiled = await compiled_page(info, AUDIT_LOG, values, size=size, has_previous=after is not None)
        if compiled is not None:
            return compiled[0]  # type: ignore[return-value]  # passed through by the executor
        rows = await audit.audit_entries(
            info.context.uow,
            after_id=values["after_id"],
            limit=size + 1,
            action=action,
            actor_id=actor_key,
            since=since,
            until=until,
        )
        return AUDIT_LOG.connection(rows, size, has_previous=after is not None)
