"""Chat fields: sending a message and following an interview's chat live."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from dataloaders.chat import MessagePageKey
from resolvers import chat
from schema import subscriptions
from schema.chat.types import Message
from schema.context import Info
from schema.ids import parse_global_id
from schema.live_context import EventScope
from schema.pagination import after_id
from schema.permissions import authenticated
from schema.replay import Resume


@strawberry.type
class ChatMutation:
    @strawberry.mutation(
        description="Post to an interview's chat (participants; 1-2000 characters; rate-limited).",
        extensions=authenticated(),
    )
    async def send_message(self, info: Info, interview_id: strawberry.ID, body: str) -> Message:
        key = parse_global_id(interview_id, "Interview", field="interviewId")
        return Message.from_row(
            await chat.send_message(info.context.uow, info.context.require_viewer(), key, body)
        )


def _message_of(row: Any) -> Message:
    return Message.from_row(row)


def chat_resume(info: Info, interview_id: int, after: str | None) -> Resume[Message]:
    """Replay of one chat from the message after `after` (docs/product.md, rule 27)."""
    size = info.context.settings.max_page_size

    async def read(scope: EventScope, after_key: int | None) -> list[Message]:
        rows = await scope.loaders.message_page.load(MessagePageKey(interview_id, size, after_key))
        return [_message_of(row) for row in rows]

    async def head(scope: EventScope) -> int | None:
        rows = await scope.loaders.message_page.load(MessagePageKey(interview_id, 1, newest=True))
        return int(rows[-1].id) if rows else None

    return Resume(after=after_id(after), read=read, head=head, position=lambda m: m.id, page_size=size)


@strawberry.type
class ChatSubscription:
    @strawberry.subscription(
        description="New messages in one interview's chat (participants, moderators and admins). With "
        "`after` (a `Message.cursor`), the messages after that one come first, then new ones, each once.",
        extensions=authenticated(),
    )
    async def message_added(  # returns the stream after checking access
        self, info: Info, interview_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[Message, None]:
        context = info.context
        key = parse_global_id(interview_id, "Interview", field="interviewId")
        resume = chat_resume(info, key, after)
        await subscriptions.check_interview_access(context, key)

        async def build(message: dict[str, Any], scope: EventScope) -> Message | None:
            return Message.from_event(message)

        channel = context.services.channels.chat(key)
        return subscriptions.follow(
            context, channel, build, recheck=subscriptions.interview_access(context, key), resume=resume
        )
