"""Chat fields: sending a message and following an interview's chat live."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from resolvers import chat
from schema import subscriptions
from schema.chat.types import Message
from schema.context import Info
from schema.ids import parse_global_id
from schema.live_context import EventScope
from schema.permissions import authenticated


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


@strawberry.type
class ChatSubscription:
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
            return Message.from_event(message)

        channel = context.services.channels.chat(key)
        return subscriptions.follow(
            context, channel, build, recheck=subscriptions.interview_access(context, key)
        )
