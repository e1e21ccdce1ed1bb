"""Notification fields: the viewer's list, marking read, and the live feed."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from strawberry import relay

from resolvers import notifications
from resolvers.unit_of_work import UnitOfWork
from schema import subscriptions
from schema.compiled.execution import Precompleted
from schema.compiled.plans import FieldRequest, compiled_page, request_of
from schema.compiled.roots import root_read
from schema.context import Context, Info
from schema.ids import parse_global_id
from schema.live_context import EventScope
from schema.notifications.types import NOTIFICATIONS, Notification
from schema.pagination import after_id, page_size
from schema.permissions import authenticated
from schema.replay import Resume


def _notification_values(
    context: Context, unread_only: bool | None, first: int | None, after: str | None
) -> tuple[dict[str, Any], int]:
    size = page_size(first, context.settings)
    values = {
        "user_id": context.require_viewer().id,
        "unread_only": bool(unread_only),
        "after_id": after_id(after),
        "limit": size + 1,
    }
    return values, size


@root_read("notifications")
async def answer_notifications(
    request: FieldRequest,
    unread_only: bool | None = False,
    first: int | None = None,
    after: str | None = None,
) -> Precompleted | None:
    values, size = _notification_values(request.context, unread_only, first, after)
    compiled = await compiled_page(request, NOTIFICATIONS, values, size=size, has_previous=after is not None)
    return compiled[0] if compiled is not None else None


@strawberry.type
class NotificationsQuery:
    @strawberry.field(description="The viewer's notifications, newest first.", extensions=authenticated())
    async def notifications(
        self,
        info: Info,
        unread_only: bool | None = False,
        first: int | None = None,
        after: str | None = None,
    ) -> relay.Connection[Notification]:
        compiled = await answer_notifications(request_of(info), unread_only, first, after)
        if compiled is not None:
            return compiled  # type: ignore[return-value]  # passed through by the executor
        values, size = _notification_values(info.context, unread_only, first, after)
        rows = await notifications.list_notifications(
            info.context.uow,
            info.context.require_viewer(),
            unread_only=bool(unread_only),
            after_id=values["after_id"],
            limit=size + 1,
        )
        return NOTIFICATIONS.connection(rows, size, has_previous=after is not None)


@strawberry.type
class NotificationsMutation:
    @strawberry.mutation(
        description="Mark the viewer's notifications read; returns how many were unread.",
        extensions=authenticated(),
    )
    async def mark_notifications_read(self, info: Info, ids: list[strawberry.ID]) -> int:
        keys = [parse_global_id(i, "Notification", field="ids") for i in ids]
        return await notifications.mark_read(info.context.uow, info.context.require_viewer(), keys)


def notification_resume(info: Info, after: str | None) -> Resume[Notification]:
    """Replay of the viewer's notifications from the one after `after` (docs/product.md, rule 27)."""
    context = info.context
    viewer = context.require_viewer()
    size = context.settings.max_page_size

    def uow(scope: EventScope) -> UnitOfWork:
        return UnitOfWork(services=context.services, db=scope.db, loaders=scope.loaders)

    async def read(scope: EventScope, after_key: int | None) -> list[Notification]:
        rows = await notifications.notifications_after(uow(scope), viewer, after_id=after_key, limit=size)
        return [Notification.from_row(row) for row in rows]

    async def head(scope: EventScope) -> int | None:
        rows = await notifications.list_notifications(
            uow(scope), viewer, unread_only=False, after_id=None, limit=1
        )
        return rows[0].id if rows else None

    return Resume(after=after_id(after), read=read, head=head, position=lambda n: n.id, page_size=size)


@strawberry.type
class NotificationsSubscription:
    @strawberry.subscription(
        description="The viewer's new notifications. With `after` (a `Notification.cursor`), the "
        "notifications after that one come first, then new ones, each once.",
        extensions=authenticated(),
    )
    async def notification_added(  # returns the stream after checking the cursor
        self, info: Info, after: str | None = None
    ) -> AsyncGenerator[Notification, None]:
        context = info.context
        viewer = context.require_viewer()
        resume = notification_resume(info, after)

        async def build(message: dict[str, Any], scope: EventScope) -> Notification | None:
            return Notification.from_event(message)

        channel = context.services.channels.notifications(viewer.id)
        return subscriptions.follow(context, channel, build, resume=resume)
