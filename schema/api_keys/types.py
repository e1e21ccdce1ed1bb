"""GraphQL types of API keys."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum

import strawberry
from sqlalchemy import select
from strawberry import relay

from db import models
from schema.context import Info


@strawberry.enum(description="What an API key may do.")
class ApiKeyScope(Enum):
    READ = "READ"
    READ_WRITE = "READ_WRITE"


@strawberry.type(name="ApiKey", description="A member's API key; the secret is shown only on creation.")
class ApiKey(relay.Node):
    id: relay.NodeID[int]
    name: str
    prefix: str = strawberry.field(description="First characters of the secret, to recognise it.")
    scope: ApiKeyScope
    created_at: datetime
    last_used_at: datetime | None = strawberry.field(description="Updated at most once a minute.")
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: models.ApiKey) -> ApiKey:
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            scope=ApiKeyScope(row.scope),
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[ApiKey | None]:
        context = info.context
        keys = [int(i) for i in node_ids]
        viewer = context.viewer
        if viewer is None or context.auth_method == "api_key":
            return [None for _ in keys]
        rows = (
            await context.db.execute(
                select(models.ApiKey).where(models.ApiKey.id.in_(keys), models.ApiKey.user_id == viewer.id)
            )
        ).scalars()
        found = {row.id: row for row in rows}
        return [cls.from_row(found[k]) if k in found else None for k in keys]


@strawberry.type(description="A new API key and its secret (shown only this once).")
class CreatedApiKey:
    api_key: ApiKey
    secret: str = strawberry.field(
        description="Send as `Authorization: Bearer <secret>` or `X-API-Key: <secret>`."
    )
