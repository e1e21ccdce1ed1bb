"""Moderation, sessions, password, API keys and platform stats."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import strawberry
from graphql import ExecutionResult, GraphQLError
from strawberry import relay
from strawberry.extensions import SchemaExtension
from strawberry.file_uploads import Upload
from strawberry.types.graphql import OperationType

from app.core.errors import FORBIDDEN
from resolvers import api_keys, moderation, uploads
from resolvers.accounts import credentials, sessions
from schema.context import Context
from schema.ids import decode_cursor, encode_cursor, parse_global_id
from schema.pagination import build_connection, page_size
from schema.permissions import ADMIN_ROLES, MODERATOR_ROLES, authenticated, requires_role
from schema.types.accounts import User
from schema.types.marketplace_records import NoShowReport, NoShowStatus
from schema.types.trust import (
    ApiKey,
    ApiKeyScope,
    CreatedApiKey,
    InterviewStatusCount,
    PlatformStats,
    UploadedFile,
)

Info = strawberry.Info[Context, None]


class ReadOnlyApiKeys(SchemaExtension):
    """A READ-scoped API key may run queries (and subscriptions) but no mutation."""

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        if (
            isinstance(context, Context)
            and context.api_key_scope == ApiKeyScope.READ.value
            and execution.operation_type is OperationType.MUTATION
        ):
            execution.result = ExecutionResult(
                data=None,
                errors=[GraphQLError("This API key is read-only.", extensions={"code": FORBIDDEN})],
            )
        yield


@strawberry.type
class TrustQuery:
    @strawberry.field(
        description="The viewer's API keys, newest first (not available to API keys).",
        extensions=authenticated(),
    )
    async def api_keys(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[ApiKey]:
        size = page_size(first, info.context.settings)
        after_id = int(decode_cursor(after, 1)[0]) if after else None
        rows = await api_keys.list_api_keys(
            info.context.uow, info.context.require_session_viewer(), after_id=after_id, limit=size + 1
        )
        nodes = [ApiKey.from_row(r) for r in rows]
        return build_connection(nodes, size, lambda n: encode_cursor(n.id), has_previous=after is not None)

    @strawberry.field(description="Platform figures (admins only).", extensions=requires_role(*ADMIN_ROLES))
    async def platform_stats(self, info: Info) -> PlatformStats:
        figures = await moderation.platform_stats(info.context.uow)
        return PlatformStats(
            members=figures.members,
            blocked_members=figures.blocked_members,
            interviews_by_status=[
                InterviewStatusCount(status=s, count=c) for s, c in figures.interviews_by_status.items()
            ],
            points_in_circulation=figures.points_in_circulation,
            no_show_rate=figures.no_show_rate,
        )

    @strawberry.field(
        description="No-show reports to resolve, oldest first (moderators and admins).",
        extensions=requires_role(*MODERATOR_ROLES),
    )
    async def no_show_reports(
        self,
        info: Info,
        status: NoShowStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> relay.Connection[NoShowReport]:
        size = page_size(first, info.context.settings)
        after_id = int(decode_cursor(after, 1)[0]) if after else None
        rows = await moderation.no_show_reports(
            info.context.uow, status=status.value if status else None, after_id=after_id, limit=size + 1
        )
        nodes = [NoShowReport.from_row(r) for r in rows]
        return build_connection(nodes, size, lambda n: encode_cursor(n.id), has_previous=after is not None)

    @strawberry.field(description="A member's avatar (public).")
    async def avatar(self, info: Info, user_id: strawberry.ID) -> UploadedFile | None:
        key = parse_global_id(user_id, "User", field="userId")
        row = await uploads.latest_upload(info.context.uow, info.context.optional_viewer(), key, "AVATAR")
        return UploadedFile.from_row(row) if row else None

    @strawberry.field(description="A member's resume: for them, interviewers of their interviews and staff.")
    async def resume(self, info: Info, user_id: strawberry.ID) -> UploadedFile | None:
        key = parse_global_id(user_id, "User", field="userId")
        row = await uploads.latest_upload(info.context.uow, info.context.optional_viewer(), key, "RESUME")
        return UploadedFile.from_row(row) if row else None


@strawberry.type
class TrustMutation:
    @strawberry.mutation(
        description="Upload an avatar (PNG, JPEG or WebP; multipart request with a "
        "`GraphQL-Require-Preflight` header). Replaces the previous one.",
        extensions=authenticated(),
    )
    async def upload_avatar(self, info: Info, file: Upload) -> UploadedFile:
        return UploadedFile.from_row(
            await uploads.upload_avatar(info.context.uow, info.context.require_viewer(), file)
        )

    @strawberry.mutation(
        description="Upload a resume (PDF; multipart request with a `GraphQL-Require-Preflight` "
        "header). Replaces the previous one.",
        extensions=authenticated(),
    )
    async def upload_resume(self, info: Info, file: Upload) -> UploadedFile:
        return UploadedFile.from_row(
            await uploads.upload_resume(info.context.uow, info.context.require_viewer(), file)
        )

    @strawberry.mutation(
        description="Block a member until a time, or permanently when `until` is null. Revokes their "
        "sessions and closes their live subscriptions. Moderators cannot block admins or themselves.",
        extensions=requires_role(*MODERATOR_ROLES),
    )
    async def block_user(
        self, info: Info, user_id: strawberry.ID, reason: str, until: datetime | None = None
    ) -> User:
        key = parse_global_id(user_id, "User", field="userId")
        return User.from_row(
            await moderation.block_user(info.context.uow, info.context.require_viewer(), key, reason, until)
        )

    @strawberry.mutation(description="Lift a block.", extensions=requires_role(*MODERATOR_ROLES))
    async def unblock_user(self, info: Info, user_id: strawberry.ID) -> User:
        key = parse_global_id(user_id, "User", field="userId")
        return User.from_row(
            await moderation.unblock_user(info.context.uow, info.context.require_viewer(), key)
        )

    @strawberry.mutation(
        description="Revoke every session of the viewer; returns how many were live.",
        extensions=authenticated(),
    )
    async def log_out_all(self, info: Info) -> int:
        return await sessions.log_out_all(info.context.uow, info.context.require_session_viewer())

    @strawberry.mutation(
        description="Change the password. Every other session is revoked; pass `keepRefreshToken` "
        "to keep the current one.",
        extensions=authenticated(),
    )
    async def change_password(
        self,
        info: Info,
        current_password: str,
        new_password: str,
        keep_refresh_token: str | None = None,
    ) -> bool:
        return await credentials.change_password(
            info.context.uow,
            info.context.require_session_viewer(),
            current_password,
            new_password,
            keep_refresh_token,
        )

    @strawberry.mutation(
        description="Create an API key; its secret is returned only here.", extensions=authenticated()
    )
    async def create_api_key(self, info: Info, name: str, scope: ApiKeyScope) -> CreatedApiKey:
        row, secret = await api_keys.create_api_key(
            info.context.uow, info.context.require_session_viewer(), name, scope.value
        )
        return CreatedApiKey(api_key=ApiKey.from_row(row), secret=secret)

    @strawberry.mutation(description="Revoke one of your API keys.", extensions=authenticated())
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKey:
        key = parse_global_id(id, "ApiKey")
        return ApiKey.from_row(
            await api_keys.revoke_api_key(info.context.uow, info.context.require_session_viewer(), key)
        )
