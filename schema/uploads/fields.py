"""Upload fields: avatars and resumes."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.file_uploads import Upload

from app.core.enums import UploadKind
from app.core.errors import BadUserInput
from resolvers import uploads
from schema.accounts.types import User
from schema.context import Info
from schema.ids import parse_global_id
from schema.permissions import authenticated
from schema.uploads.types import UploadedFile


@strawberry.type
class UploadsQuery:
    @strawberry.field(description="A member's avatar (public).")
    async def avatar(self, info: Info, user_id: strawberry.ID) -> UploadedFile | None:
        key = parse_global_id(user_id, "User", field="userId")
        row = await uploads.latest_upload(
            info.context.uow, info.context.optional_viewer(), key, UploadKind.AVATAR
        )
        return UploadedFile.from_row(row) if row else None

    @strawberry.field(description="A member's resume: for them, interviewers of their interviews and staff.")
    async def resume(self, info: Info, user_id: strawberry.ID) -> UploadedFile | None:
        key = parse_global_id(user_id, "User", field="userId")
        row = await uploads.latest_upload(
            info.context.uow, info.context.optional_viewer(), key, UploadKind.RESUME
        )
        return UploadedFile.from_row(row) if row else None


@strawberry.type
class UploadsMutation:
    @strawberry.mutation(
        description="Upload an avatar (PNG, JPEG or WebP; multipart request with a "
        "`GraphQL-Require-Preflight` header). Replaces the previous one.",
        extensions=authenticated(),
    )
    async def upload_avatar(self, info: Info, file: Upload) -> UploadedFile:
        data = await _read_at_most(file, info.context.settings.max_avatar_bytes)
        return UploadedFile.from_row(
            await uploads.upload_avatar(info.context.uow, info.context.require_viewer(), data)
        )

    @strawberry.mutation(
        description="Upload a resume (PDF; multipart request with a `GraphQL-Require-Preflight` "
        "header). Replaces the previous one.",
        extensions=authenticated(),
    )
    async def upload_resume(self, info: Info, file: Upload) -> UploadedFile:
        data = await _read_at_most(file, info.context.settings.max_resume_bytes)
        return UploadedFile.from_row(
            await uploads.upload_resume(info.context.uow, info.context.require_viewer(), data)
        )

    @strawberry.mutation(
        description="Delete your avatar and its stored file (nothing changes when you have none).",
        extensions=authenticated(),
    )
    async def remove_avatar(self, info: Info) -> User:
        return User.from_row(await uploads.remove_avatar(info.context.uow, info.context.require_viewer()))


async def _read_at_most(file: Any, limit: int) -> bytes:
    """The request's file (a Starlette `UploadFile` behind strawberry's `Upload` scalar), one byte past
    `limit` at most: enough for the domain to refuse a file that is too large without holding all of it."""
    if not callable(getattr(file, "read", None)):  # JSON in place of a multipart file part
        raise BadUserInput("`file` must be a file part of a multipart request.", field="file")
    data: bytes = await file.read(limit + 1)
    return data
