"""Live fields: chat, notifications and the four subscriptions (rules 13-15 of PRODUCT.md)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay
from strawberry.extensions import SchemaExtension

from resolvers import chat, notifications
from schema import subscriptions
from schema.context import Context
from schema.ids import decode_cursor, encode_cursor, parse_global_id
from schema.live_context import EventScope, release_current_scope
from schema.pagination import build_connection, page_size
from schema.permissions import authenticated
from schema.types.live import Message, Notification, SlotEvent, SlotEventKind
from schema.types.marketplace import Interview, Slot

Info = strawberry.Info[Context, None]


def id_cursor(node: Message | Notification) -> str:
    """Keyset cursor of a node ordered by id."""
    return encode_cursor(node.id)


def after_id(after: str | None) -> int | None:
    """The id inside a cursor made by `id_cursor`."""
    if after is None:
        return None
    (value,) = decode_cursor(after, 1)
    if not isinstance(value, int):
        from app.core.errors import BadUserInput

        raise BadUserInput("Malformed cursor.", field="after")
    return value


class ReleaseEventScope(SchemaExtension):
    """Frees a subscription event's database scope as soon as its result is computed."""

    async def on_stream_result(self, result: Any) -> AsyncIterator[None]:
        await release_current_scope()
        yield


@strawberry.type
class LiveQuery:
    @strawberry.field(description="The viewer's notifications, newest first.", extensions=authenticated())
    async def notifications(
        self,
        info: Info,
        unread_only: bool | None = False,
        first: int | None = None,
        after: str | None = None,
    ) -> relay.Connection[Notification]:
        size = page_size(first, info.context.settings)
        rows = await notifications.list_notifications(
            info.context.uow,
            info.context.require_viewer(),
            unread_only=bool(unread_only),
            after_id=after_id(after),
            limit=size + 1,
        )
        nodes = [Notification.from_row(r) for r in rows]
        return build_connection(nodes, size, id_cursor, has_previous=after is not None)


@strawberry.type
class LiveMutation:
    @strawberry.mutation(
        description="Post to an interview's chat (participants; 1-2000 characters; rate-limited).",
        extensions=authenticated(),
    )
    async def send_message(self, info: Info, interview_id: strawberry.ID, body: str) -> Message:
        key = parse_global_id(interview_id, "Interview", field="interviewId")
        return Message.from_row(
            await chat.send_message(info.context.uow, info.context.require_viewer(), key, body)
        )

    @strawberry.mutation(
        description="Mark the viewer's notifications read; returns how many were unread.",
        extensions=authenticated(),
    )
    async def mark_notifications_read(self, info: Info, ids: list[strawberry.ID]) -> int:
        keys = [parse_global_id(i, "Notification", field="ids") for i in ids]
        return await notifications.mark_read(info.context.uow, info.context.require_viewer(), keys)


@strawberry.type
class LiveSubscription:
    @strawberry.subscription(description="Changes on the open-slot board (public; no video links).")
    async def open_slots_changed(
        self, info: Info, specialization_id: strawberry.ID | None = None
    ) -> AsyncGenerator[SlotEvent, None]:
        context = info.context
        context.optional_viewer()
        spec = (
            parse_global_id(specialization_id, "Specialization", field="specializationId")
            if specialization_id
            else None
        )

        async def build(message: dict[str, Any], scope: EventScope) -> SlotEvent | None:
            row = await scope.loaders.slot.load(int(message["slot_id"]))
            if row is None or (spec is not None and row.specialization_id != spec):
                return None
            return SlotEvent(kind=SlotEventKind(message["kind"]), slot=Slot.from_row(row))

        async for event in subscriptions.follow(context, context.services.channels.board(), build):
            yield event

    @strawberry.subscription(
        description="One interview's status (participants, moderators and admins).",
        extensions=authenticated(),
    )
    async def interview_updated(  # returns the stream after checking access
        self, info: Info, id: strawberry.ID
    ) -> AsyncGenerator[Interview, None]:
        context = info.context
        key = parse_global_id(id, "Interview")
        await subscriptions.check_interview_access(context, key)

        async def build(message: dict[str, Any], scope: EventScope) -> Interview | None:
            row = await scope.loaders.interview.load(key)
            return Interview.from_row(row) if row is not None else None

        return subscriptions.follow(context, context.services.channels.interview(key), build)

    @strawberry.subscription(
        description="New messages in one interview's chat (participants, moderators and admins).",
        extensions=authenticated(),
    )
    async def message_added(  # returns the stream after checking access
        self, info: Info, interview_id: strawberry.ID
    ) -> AsyncGenerator[Message, None]:
        context = info.context
        key = parse_global_id(interview_id, "Interview", field="interviewId")
        await subscriptions.check_interview_access(context, key)

        async def build(message: dict[str, Any], scope: EventScope) -> Message | None:
            return Message(
                id=int(message["id"]),
                body=str(message["body"]),
                created_at=datetime.fromisoformat(message["created_at"]),
                author_id=int(message["author_id"]),
                interview_id=int(message["interview_id"]),
            )

        return subscriptions.follow(context, chat.chat_channel(context.settings.redis_prefix, key), build)

    @strawberry.subscription(description="The viewer's new notifications.", extensions=authenticated())
    async def notification_added(self, info: Info) -> AsyncGenerator[Notification, None]:
        context = info.context
        viewer = context.require_viewer()

        async def build(message: dict[str, Any], scope: EventScope) -> Notification | None:
            return Notification.from_event(message)

        channel = notifications.notifications_channel(context.settings.redis_prefix, viewer.id)
        async for event in subscriptions.follow(context, channel, build):
            yield event
