"""GraphQL types of deliveries outside the app: preferences, webhooks and their delivery log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time

import strawberry
from strawberry import relay

from app.core import webhook_signing
from app.core.enums import DeliveryChannel, DeliveryStatus, NotificationKind
from app.core.settings import Settings
from db import models
from resolvers.deliveries import webhooks
from resolvers.deliveries.preferences import Preferences
from schema.context import Info
from schema.ids import encode_cursor, node_keys
from schema.pagination import after_id, build_connection, page_size

strawberry.enum(
    DeliveryChannel, name="NotificationChannel", description="A way out of the app; in-app is always on."
)
strawberry.enum(
    DeliveryStatus,
    name="DeliveryStatus",
    description="PENDING: queued or waiting to be retried; SENT; FAILED: dead-lettered, no more attempts.",
)


def clock_text(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


@strawberry.type(description="The channels one kind of notification goes to.")
class NotificationKindPreference:
    kind: NotificationKind
    channels: list[DeliveryChannel]
    in_app: bool = strawberry.field(default=True, description="Always true: in-app is always on.")


@strawberry.type(description="Where the viewer's notifications go besides the app, and when they wait.")
class NotificationPreferences:
    kinds: list[NotificationKindPreference]
    quiet_hours_start: str | None = strawberry.field(
        description="HH:MM in `timezone`: from then until `quietHoursEnd` email, web push and Telegram "
        "wait (in-app and webhooks do not)."
    )
    quiet_hours_end: str | None
    timezone: str = strawberry.field(description="The member's time zone (from their profile).")
    push_subscriptions: int = strawberry.field(description="Browsers registered for web push.")
    telegram_linked: bool = strawberry.field(description="Whether a Telegram chat is linked.")
    web_push_public_key: str | None = strawberry.field(
        description="The server's VAPID public key (base64url), the `applicationServerKey` of "
        "`pushManager.subscribe`; null when web push is not set up."
    )

    @classmethod
    def from_preferences(cls, preferences: Preferences, settings: Settings) -> NotificationPreferences:
        return cls(
            kinds=[
                NotificationKindPreference(kind=NotificationKind(kind), channels=list(channels))
                for kind, channels in preferences.channels.items()
            ],
            quiet_hours_start=clock_text(preferences.quiet_hours_start),
            quiet_hours_end=clock_text(preferences.quiet_hours_end),
            timezone=preferences.timezone,
            push_subscriptions=preferences.push_subscriptions,
            telegram_linked=preferences.telegram_linked,
            web_push_public_key=settings.vapid_public_key if settings.web_push_enabled else None,
        )


@strawberry.type(name="Delivery", description="One notification sent (or to be sent) on one channel.")
class Delivery(relay.Node):
    id: relay.NodeID[int]
    kind: NotificationKind
    channel: DeliveryChannel
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    response_status: int | None = strawberry.field(description="The webhook's last HTTP status.")
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def from_row(cls, row: models.Delivery) -> Delivery:
        return cls(
            id=row.id,
            kind=NotificationKind(row.kind),
            channel=DeliveryChannel(row.channel),
            status=DeliveryStatus(row.status),
            attempts=row.attempts,
            last_error=row.last_error,
            response_status=row.response_status,
            created_at=row.created_at,
            sent_at=row.sent_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Delivery | None]:
        context = info.context
        rows = await webhooks.visible_deliveries(context.uow, context.optional_viewer(), node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]


@strawberry.type(
    name="Webhook", description="A signed JSON endpoint for some kinds of the viewer's notifications."
)
class Webhook(relay.Node):
    id: relay.NodeID[int]
    url: str
    events: list[NotificationKind]
    consecutive_failures: int
    disabled_at: datetime | None = strawberry.field(description="Set after too many failures in a row.")
    created_at: datetime
    row: strawberry.Private[models.Webhook]

    @classmethod
    def from_row(cls, row: models.Webhook) -> Webhook:
        return cls(
            id=row.id,
            url=row.url,
            events=[NotificationKind(kind) for kind in row.events],
            consecutive_failures=row.consecutive_failures,
            disabled_at=row.disabled_at,
            created_at=row.created_at,
            row=row,
        )

    @strawberry.field(description="The delivery log, newest first.")
    async def deliveries(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[Delivery]:
        size = page_size(first, info.context.settings)
        rows = await webhooks.webhook_deliveries(
            info.context.uow, self.row, after_id=after_id(after), limit=size + 1
        )
        return build_connection(
            [Delivery.from_row(r) for r in rows], size, delivery_cursor, has_previous=after is not None
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Webhook | None]:
        context = info.context
        rows = await webhooks.visible_webhooks(context.uow, context.optional_viewer(), node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]


def delivery_cursor(node: Delivery) -> str:
    return encode_cursor(node.id)


SIGNATURE_HELP = (
    f"Sign-check each POST: `{webhook_signing.SIGNATURE_HEADER}` is `v1=` + hex HMAC-SHA256 of "
    f'`"<{webhook_signing.TIMESTAMP_HEADER}>.<raw body>"` with this secret.'
)


@strawberry.type(description="A new webhook and its signing secret (shown only this once).")
class WebhookWithSecret:
    webhook: Webhook
    secret: str = strawberry.field(description=SIGNATURE_HELP)


@strawberry.input(description="The channels for one kind of notification.")
class NotificationKindPreferenceInput:
    kind: NotificationKind
    channels: list[DeliveryChannel]


@strawberry.input(description="Omitted fields keep their value; both quiet-hour fields null clear them.")
class NotificationPreferencesInput:
    kinds: list[NotificationKindPreferenceInput] | None = None
    quiet_hours_start: str | None = strawberry.field(
        default=strawberry.UNSET, description="HH:MM, local time."
    )
    quiet_hours_end: str | None = strawberry.field(default=strawberry.UNSET, description="HH:MM, local time.")


@strawberry.input(description="A webhook for the notification kinds in `events`.")
class CreateWebhookInput:
    url: str
    events: list[NotificationKind]
