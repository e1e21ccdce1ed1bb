"""GraphQL types of the channels that reach a member directly: web push and Telegram."""

from __future__ import annotations

from datetime import datetime

import strawberry


@strawberry.type(description="A one-time Telegram deep link: opening it and pressing Start links the chat.")
class TelegramLink:
    url: str = strawberry.field(description="`https://t.me/<bot>?start=<code>`.")
    expires_at: datetime


@strawberry.input(
    description="A browser's push subscription, as `PushSubscription.toJSON()` gives it (keys base64url)."
)
class PushSubscriptionInput:
    endpoint: str
    p256dh: str = strawberry.field(description="`keys.p256dh`: the browser's P-256 public key.")
    auth: str = strawberry.field(description="`keys.auth`: the 16-octet authentication secret.")
