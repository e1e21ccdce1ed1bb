"""GraphQL type of an audit log entry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from db import models
from resolvers.audit import audit_statement
from schema.accounts.types import User
from schema.compiled.compiler import Scope
from schema.compiled.mapped import Mapped, relation, sql
from schema.compiled.pages import Page
from schema.context import Info
from schema.ids import node_keys
from schema.permissions import is_admin


def _admins_only(scope: Scope) -> str:
    """`AuditEntry.resolve_nodes`: admins only, as the `auditLog` field."""
    return "true" if scope.compiler.is_admin else "false"


def _target_sql(scope: Scope) -> str:
    kind, key = scope.column("target_type"), scope.column("target_id")
    encoded = f"translate(encode(convert_to({kind} || ':' || {key}, 'UTF8'), 'base64'), E'\\n', '')"
    return f"CASE WHEN {kind} IS NULL OR {key} IS NULL THEN NULL ELSE {encoded} END"


@strawberry.type(name="AuditEntry", description="An administrative or security event.")
class AuditEntry(relay.Node, Mapped, model=models.AuditEntry):
    id: relay.NodeID[int]
    action: str
    created_at: datetime
    target_type: str | None
    row: strawberry.Private[models.AuditEntry]
    actor: User | None = relation("actor_id", description="Who did it; null for anonymous or system actions.")

    sql_visible = staticmethod(_admins_only)

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

    @strawberry.field(metadata=sql(lambda s: s.column("details")))
    def details(self) -> JSON:
        details: Any = self.row.details
        return cast(JSON, details)

    @strawberry.field(description="Global ID of the object acted on.", metadata=sql(_target_sql))
    def target(self) -> strawberry.ID | None:
        kind, key = self.row.target_type, self.row.target_id
        if kind is None or key is None:
            return None
        return strawberry.ID(str(relay.GlobalID(kind, str(key))))


# `Query.auditLog`: the same statement on both paths (resolvers/audit.py).
AUDIT_LOG = Page(AuditEntry, audit_statement, ("id",), descending=True)
