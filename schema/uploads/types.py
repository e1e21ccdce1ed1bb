"""GraphQL type of uploaded files."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from db import models
from resolvers.uploads import may_read
from schema.context import Info
from schema.ids import node_keys


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

    @strawberry.field(
        description="Absolute URL of the file (under the server's PUBLIC_BASE_URL): GET it (with your "
        "Authorization header for resumes)."
    )
    def url(self, info: Info) -> str:
        return info.context.settings.public_url(f"/files/{self.storage_key}")

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[UploadedFile | None]:
        context = info.context
        viewer = context.optional_viewer()
        rows = await context.loaders.upload.load_many(node_keys(node_ids))
        result: list[UploadedFile | None] = []
        for row in rows:
            visible = row is not None and await may_read(context.db, row, viewer)
            result.append(cls.from_row(row) if row is not None and visible else None)
        return result
