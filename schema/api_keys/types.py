"""GraphQL types of API keys."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from app.core.enums import ApiKeyScope
from db import models
from resolvers.api_keys import api_keys_statement, own_api_keys
from schema.compiled.mapped import Mapped
from schema.compiled.pages import Page
from schema.context import Info
from schema.ids import node_keys
from schema.visibility import session_owner

strawberry.enum(ApiKeyScope, name="ApiKeyScope", description="What an API key may do.")


@strawberry.type(name="ApiKey", description="A member's API key; the secret is shown only on creation.")
class ApiKey(relay.Node, Mapped, model=models.ApiKey):
    id: relay.NodeID[int]
    name: str
    prefix: str = strawberry.field(description="First characters of the secret, to recognise it.")
    scope: ApiKeyScope
    created_at: datetime
    last_used_at: datetime | None = strawberry.field(description="Updated at most once a minute.")
    revoked_at: datetime | None
    row: strawberry.Private[models.ApiKey]

    sql_visible = staticmethod(session_owner)

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


# `Query.apiKeys`: the same statement on both paths (resolvers/api_keys.py).
API_KEYS = Page(ApiKey, api_keys_statement, ("id",), descending=True)


@strawberry.type(description="A new API key and its secret (shown only this once).")
class CreatedApiKey:
    api_key: ApiKey
    secret: str = strawberry.field(
        description="Send as `Authorization: Bearer <secret>` or `X-API-Key: <secret>`."
    )
