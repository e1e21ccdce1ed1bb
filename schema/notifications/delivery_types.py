"""GraphQL types of deliveries outside the app: preferences, webhooks and their delivery log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from typing import Any

import strawberry
from sqlalchemy import literal_column
from strawberry import relay

from app.core import webhook_signing
from app.core.enums import DeliveryChannel, DeliveryStatus, NotificationKind
from app.core.errors import BadUserInput
from app.core.settings import Settings
from db import models
from resolvers.deliveries import webhooks
from resolvers.deliveries.preferences import Preferences
from schema.compiled.compiler import Scope
from schema.compiled.mapped import Mapped, sql
from schema.compiled.pages import NestedPage, Page
from schema.compiled.selection import Unsupported
from schema.context import Info
from schema.ids import node_keys
from schema.pagination import after_id, page_size
from schema.visibility import owner, owner_or_staff

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
class Delivery(relay.Node, Mapped, model=models.Delivery):
    id: relay.NodeID[int]
    kind: NotificationKind
    channel: DeliveryChannel
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    response_status: int | None = strawberry.field(description="The webhook's last HTTP status.")
    created_at: datetime
    sent_at: datetime | None
    row: strawberry.Private[models.Delivery]

    sql_visible = staticmethod(owner_or_staff)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Delivery | None]:
        context = info.context
        rows = await webhooks.visible_deliveries(context.uow, context.optional_viewer(), node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]


def _events(root: Any) -> list[NotificationKind]:
    return [NotificationKind(kind) for kind in root.row.events]


def _events_sql(scope: Scope) -> str:
    scope.no_arguments()
    return f"to_json({scope.column('events')})"


def _deliveries_sql(scope: Scope) -> str:
    first, after = scope.argument("first"), scope.argument("after")
    try:
        size, after_key = page_size(first, scope.compiler.settings), after_id(after)
    except BadUserInput as exc:
        raise Unsupported("deliveries") from exc  # the resolver reports it
    assert scope.selected is not None
    nested = NestedPage(
        WEBHOOK_DELIVERIES,
        "webhook_id",
        size,
        {"after_id": after_key, "limit": size + 1},
        has_previous=after is not None,
    )
    return nested.sql(scope.compiler, literal_column(scope.column("id")), scope.selected)


@strawberry.type(
    name="Webhook", description="A signed JSON endpoint for some kinds of the viewer's notifications."
)
class Webhook(relay.Node, Mapped, model=models.Webhook):
    id: relay.NodeID[int]
    url: str
    events: list[NotificationKind] = strawberry.field(resolver=_events, metadata=sql(_events_sql))
    consecutive_failures: int
    disabled_at: datetime | None = strawberry.field(description="Set after too many failures in a row.")
    created_at: datetime
    row: strawberry.Private[models.Webhook]

    sql_visible = staticmethod(owner)

    @strawberry.field(description="The delivery log, newest first.", metadata=sql(_deliveries_sql))
    async def deliveries(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[Delivery]:
        size = page_size(first, info.context.settings)
        rows = await webhooks.webhook_deliveries(
            info.context.uow, self.row, after_id=after_id(after), limit=size + 1
        )
        return WEBHOOK_DELIVERIES.connection(rows, size, has_previous=after is not None)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Webhook | None]:
        context = info.context
        rows = await webhooks.visible_webhooks(context.uow, context.optional_viewer(), node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]


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


# `Query.failedDeliveries`: the same statement on both paths (resolvers/deliveries/webhooks.py).
FAILED_DELIVERIES = Page(Delivery, webhooks.failed_deliveries_statement, ("id",), descending=True)
# `Webhook.deliveries` and `Query.webhooks`: the same statements on both paths.
WEBHOOK_DELIVERIES = Page(Delivery, webhooks.webhook_deliveries_statement, ("id",), descending=True)
WEBHOOKS = Page(Webhook, webhooks.webhooks_statement, ("id",))
