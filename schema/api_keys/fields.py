"""API key fields: list, create and revoke the viewer's keys."""

from __future__ import annotations

import strawberry
from strawberry import relay

from app.core.enums import ApiKeyScope
from resolvers import api_keys
from schema.api_keys.types import ApiKey, CreatedApiKey
from schema.context import Info
from schema.ids import encode_cursor, parse_global_id
from schema.pagination import after_id, build_connection, page_size
from schema.permissions import authenticated


@strawberry.type
class ApiKeysQuery:
    @strawberry.field(
        description="The viewer's API keys, newest first (not available to API keys).",
        extensions=authenticated(),
    )
    async def api_keys(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[ApiKey]:
        size = page_size(first, info.context.settings)
        rows = await api_keys.list_api_keys(
            info.context.uow, info.context.require_session_viewer(), after_id=after_id(after), limit=size + 1
        )
        nodes = [ApiKey.from_row(r) for r in rows]
        return build_connection(nodes, size, lambda n: encode_cursor(n.id), has_previous=after is not None)


@strawberry.type
class ApiKeysMutation:
    @strawberry.mutation(
        description="Create an API key; its secret is returned only here.", extensions=authenticated()
    )
    async def create_api_key(self, info: Info, name: str, scope: ApiKeyScope) -> CreatedApiKey:
        row, secret = await api_keys.create_api_key(
            info.context.uow, info.context.require_session_viewer(), name, scope
        )
        return CreatedApiKey(api_key=ApiKey.from_row(row), secret=secret)

    @strawberry.mutation(description="Revoke one of your API keys.", extensions=authenticated())
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKey:
        key = parse_global_id(id, "ApiKey")
        return ApiKey.from_row(
            await api_keys.revoke_api_key(info.context.uow, info.context.require_session_viewer(), key)
        )
