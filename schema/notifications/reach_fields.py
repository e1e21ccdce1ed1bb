"""Fields of the channels that reach a member directly: web push subscriptions and Telegram links."""

from __future__ import annotations

import strawberry

from resolvers.deliveries import push, telegram_links
from schema.context import Info
from schema.notifications.reach_types import PushSubscriptionInput, TelegramLink
from schema.permissions import authenticated


@strawberry.type
class ReachMutation:
    @strawberry.mutation(
        description="Send the viewer's notifications to this browser (web push; the server's key is "
        "`notificationPreferences.webPushPublicKey`).",
        extensions=authenticated(),
    )
    async def register_push_subscription(self, info: Info, input: PushSubscriptionInput) -> bool:
        return await push.register_push_subscription(
            info.context.uow, info.context.require_viewer(), input.endpoint, input.p256dh, input.auth
        )

    @strawberry.mutation(
        description="Stop web push to a browser (by its endpoint); false when it was not registered.",
        extensions=authenticated(),
    )
    async def remove_push_subscription(self, info: Info, endpoint: str) -> bool:
        return await push.remove_push_subscription(info.context.uow, info.context.require_viewer(), endpoint)

    @strawberry.mutation(
        description="A one-time deep link to the server's Telegram bot that links the chat it is opened "
        "in; earlier links stop working.",
        extensions=authenticated(),
    )
    async def link_telegram(self, info: Info) -> TelegramLink:
        link = await telegram_links.link_telegram(info.context.uow, info.context.require_viewer())
        return TelegramLink(url=link.url, expires_at=link.expires_at)

    @strawberry.mutation(
        description="Stop Telegram messages; false when no chat was linked.", extensions=authenticated()
    )
    async def unlink_telegram(self, info: Info) -> bool:
        return await telegram_links.unlink_telegram(info.context.uow, info.context.require_viewer())
