"""GraphQL types of API keys."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from app.core.enums import ApiKeyScope
from db import models
from resolvers.api_keys import own_api_keys
from schema.context import Info
from schema.ids import node_keys

strawberry.enum(ApiKeyScope, name="ApiKeyScope", description="What an API key may do.")


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
        keys = node_keys(node_ids)
        if context.auth_method == "api_key":  # keys are managed with a session only
            return [None for _ in keys]
        rows = await own_api_keys(context.uow, context.viewer, keys)
        return [cls.from_row(row) if row else None for row in rows]


@strawberry.type(description="A new API key and its secret (shown only this once).")
class CreatedApiKey:
    api_key: ApiKey
    secret: str = strawberry.field(
        description="Send as `Authorization: Bearer <secret>` or `X-API-Key: <secret>`."
    )
