"""Moderation fields: roles, blocks, no-show resolution and platform figures (staff only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from app.core.enums import NoShowStatus, Role
from resolvers import moderation
from resolvers.interviews import lifecycle
from schema.accounts.types import User
from schema.compiled.execution import Precompleted
from schema.compiled.pages import Page
from schema.compiled.plans import FieldRequest, compiled_page, request_of
from schema.compiled.roots import root_read
from schema.context import Info
from schema.ids import parse_global_id
from schema.moderation.types import Block, InterviewStatusCount, NoShowReport, PlatformStats
from schema.notifications.types import Notification
from schema.pagination import after_id, page_size
from schema.permissions import ADMIN_ROLES, MODERATOR_ROLES, requires_role

# The moderators' no-show queue: the same statement on both paths (resolvers/moderation.py).
NO_SHOW_QUEUE = Page(NoShowReport, moderation.no_show_queue_statement, ("id",))
# `activeBlocks` and `blockHistory`: the same statement on both paths (resolvers/moderation.py).
BLOCKS = Page(Block, moderation.blocks_statement, ("id",), descending=True)


@strawberry.type
class ModerationQuery:
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
        values: dict[str, Any] = {
            "status": status.value if status else None,
            "after_id": after_id(after),
            "limit": size + 1,
        }
        compiled = await compiled_page(info, NO_SHOW_QUEUE, values, size=size, has_previous=after is not None)
        if compiled is not None:
            return compiled[0]  # type: ignore[return-value]  # passed through by the executor
        rows = await moderation.no_show_reports(
            info.context.uow, status=status, after_id=values["after_id"], limit=size + 1
        )
        return NO_SHOW_QUEUE.connection(rows, size, has_previous=after is not None)

    @strawberry.field(
        description="Blocks in force now, newest first (moderators and admins).",
        extensions=requires_role(*MODERATOR_ROLES),
    )
    async def active_blocks(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[Block]:
        compiled = await answer_active_blocks(request_of(info), first, after)
        if compiled is not None:
            return compiled  # type: ignore[return-value]  # passed through by the executor
        return await _blocks(info, None, active_only=True, first=first, after=after)

    @strawberry.field(
        description="A member's blocks, in force and past, newest first (moderators and admins).",
        extensions=requires_role(*MODERATOR_ROLES),
    )
    async def block_history(
        self, info: Info, user_id: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> relay.Connection[Block]:
        compiled = await answer_block_history(request_of(info), user_id, first, after)
        if compiled is not None:
            return compiled  # type: ignore[return-value]  # passed through by the executor
        key = parse_global_id(user_id, "User", field="userId")
        return await _blocks(info, key, active_only=False, first=first, after=after)


async def _compiled_blocks(
    request: FieldRequest, user_id: int | None, *, active_only: bool, first: int | None, after: str | None
) -> Precompleted | None:
    context = request.context
    size = page_size(first, context.settings)
    values = {
        "user_id": user_id,
        "active_only": active_only,
        "now": context.now(),
        "after_id": after_id(after),
        "limit": size + 1,
    }
    compiled = await compiled_page(request, BLOCKS, values, size=size, has_previous=after is not None)
    return compiled[0] if compiled is not None else None


@root_read("activeBlocks")
async def answer_active_blocks(
    request: FieldRequest, first: int | None = None, after: str | None = None
) -> Precompleted | None:
    return await _compiled_blocks(request, None, active_only=True, first=first, after=after)


@root_read("blockHistory")
async def answer_block_history(
    request: FieldRequest, user_id: strawberry.ID, first: int | None = None, after: str | None = None
) -> Precompleted | None:
    key = parse_global_id(user_id, "User", field="userId")
    return await _compiled_blocks(request, key, active_only=False, first=first, after=after)


async def _blocks(
    info: Info, user_id: int | None, *, active_only: bool, first: int | None, after: str | None
) -> relay.Connection[Block]:
    size = page_size(first, info.context.settings)
    rows = await moderation.blocks(
        info.context.uow, user_id=user_id, active_only=active_only, after_id=after_id(after), limit=size + 1
    )
    return BLOCKS.connection(rows, size, has_previous=after is not None)


@strawberry.type
class ModerationMutation:
    @strawberry.mutation(
        description="Send a member a message from the staff: stored as an ADMIN_MESSAGE notification "
        "and delivered like every notification.",
        extensions=requires_role(*MODERATOR_ROLES),
    )
    async def send_admin_message(self, info: Info, user_id: strawberry.ID, body: str) -> Notification:
        key = parse_global_id(user_id, "User", field="userId")
        row = await moderation.send_admin_message(info.context.uow, info.context.require_viewer(), key, body)
        return Notification.from_row(row)

    @strawberry.mutation(
        description="Change a member's role. The last active admin cannot be demoted.",
        extensions=requires_role(*ADMIN_ROLES),
    )
    async def set_user_role(self, info: Info, user_id: strawberry.ID, role: Role) -> User:
        key = parse_global_id(user_id, "User", field="userId")
        return User.from_row(
            await moderation.set_role(info.context.uow, info.context.require_viewer(), key, role)
        )

    @strawberry.mutation(
        description="Block a member until a time, or permanently when `until` is null. Revokes their "
        "sessions, closes their live subscriptions, cancels their scheduled interviews (candidates are "
        "refunded) and withdraws their open slots. Moderators cannot block admins or themselves; the "
        "last active admin cannot be blocked.",
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
        description="Uphold or reject a no-show report.", extensions=requires_role(*MODERATOR_ROLES)
    )
    async def resolve_no_show(
        self, info: Info, report_id: strawberry.ID, upheld: bool, note: str | None = None
    ) -> NoShowReport:
        key = parse_global_id(report_id, "NoShowReport", field="reportId")
        return NoShowReport.from_row(
            await lifecycle.resolve_no_show(
                info.context.uow, info.context.require_viewer(), key, upheld, note
            )
        )
