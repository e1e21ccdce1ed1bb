"""API key fields: list, create and revoke the viewer's keys."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import relay

from app.core.enums import ApiKeyScope
from resolvers import api_keys
from schema.api_keys.types import API_KEYS, ApiKey, CreatedApiKey
from schema.compiled.execution import Precompleted
from schema.compiled.plans import FieldRequest, compiled_page, request_of
from schema.compiled.roots import root_read
from schema.context import Context, Info
from schema.ids import parse_global_id
from schema.pagination import after_id, page_size
from schema.permissions import authenticated


def _api_key_values(context: Context, first: int | None, after: str | None) -> tuple[dict[str, Any], int]:
    size = page_size(first, context.settings)
    values = {"user_id": context.require_session_viewer().id, "after_id": after_id(after), "limit": size + 1}
    return values, size


@root_read("apiKeys")
async def answer_api_keys(
    request: FieldRequest, first: int | None = None, after: str | None = None
) -> Precompleted | None:
    values, size = _api_key_values(request.context, first, after)
    compiled = await compiled_page(request, API_KEYS, values, size=size, has_previous=after is not None)
    return compiled[0] if compiled is not None else None


@strawberry.type
class ApiKeysQuery:
    @strawberry.field(
        description="The viewer's API keys, newest first (not available to API keys).",
        extensions=authenticated(),
    )
    async def api_keys(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[ApiKey]:
        compiled = await answer_api_keys(request_of(info), first, after)
        if compiled is not None:
            return compiled  # type: ignore[return-value]  # passed through by the executor
        size = page_size(first, info.context.settings)
        rows = await api_keys.list_api_keys(
            info.context.uow, info.context.require_session_viewer(), after_id=after_id(after), limit=size + 1
        )
        return API_KEYS.connection(rows, size, has_previous=after is not None)


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
