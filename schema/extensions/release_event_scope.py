"""Frees a subscription event's database scope as soon as its result is computed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from strawberry.extensions import SchemaExtension

from schema.live_context import release_current_scope


class ReleaseEventScope(SchemaExtension):
    """Frees a subscription event's database scope as soon as its result is computed."""

    async def on_stream_result(self, result: Any) -> AsyncIterator[None]:
        await release_current_scope()
        yield
