"""API keys and platform statistics."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum

import strawberry
from sqlalchemy import select
from strawberry import relay

from db import models
from schema.context import Context

Info = strawberry.Info[Context, None]


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


@strawberry.type(description="Number of interviews in one status.")
class InterviewStatusCount:
    status: str
    count: int


@strawberry.type(description="Platform figures for admins.")
class PlatformStats:
    members: int
    blocked_members: int
    interviews_by_status: list[InterviewStatusCount]
    points_in_circulation: int = strawberry.field(description="Sum of all members' balances.")
    no_show_rate: float = strawberry.field(
        description="NO_SHOW / (COMPLETED + NO_SHOW) interviews; 0 before any finished."
    )


@strawberry.type(name="UploadedFile", description="An avatar or resume; fetch its bytes from `url`.")
class UploadedFile(relay.Node):
    id: relay.NodeID[int]
    kind: str = strawberry.field(description="AVATAR or RESUME.")
    content_type: str
    size_bytes: int
    width: int | None
    height: int | None
    created_at: datetime
    storage_key: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: models.Upload) -> UploadedFile:
        return cls(
            id=row.id,
            kind=row.kind,
            content_type=row.content_type,
            size_bytes=row.size_bytes,
            width=row.width,
            height=row.height,
            created_at=row.created_at,
            storage_key=row.storage_key,
        )

    @strawberry.field(description="Path of the file: GET it (with your Authorization header for resumes).")
    def url(self) -> str:
        return f"/files/{self.storage_key}"

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[UploadedFile | None]:
        from resolvers.uploads import may_read

        context = info.context
        keys = [int(i) for i in node_ids]
        statement = select(models.Upload).where(models.Upload.id.in_(keys))
        found = {row.id: row for row in (await context.db.execute(statement)).scalars()}
        viewer = context.optional_viewer()
        result: list[UploadedFile | None] = []
        for key in keys:
            row = found.get(key)
            visible = row is not None and await may_read(context.db, row, viewer)
            result.append(cls.from_row(row) if row is not None and visible else None)
        return result
