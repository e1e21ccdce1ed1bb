"""Delivery fields: preferences, webhooks, and the staff's dead letters."""

from __future__ import annotations

from datetime import time

import strawberry
from strawberry import relay

from app.core.enums import DeliveryChannel, NotificationKind
from app.core.errors import BadUserInput, NotFound
from resolvers.deliveries import preferences, webhooks
from schema.compiled.execution import Precompleted
from schema.compiled.plans import FieldRequest, compiled_list, compiled_page, request_of
from schema.compiled.roots import root_read
from schema.context import Info
from schema.ids import parse_global_id
from schema.notifications.delivery_types import (
    FAILED_DELIVERIES,
    WEBHOOKS,
    CreateWebhookInput,
    Delivery,
    NotificationPreferences,
    NotificationPreferencesInput,
    Webhook,
    WebhookWithSecret,
)
from schema.pagination import after_id, page_size
from schema.permissions import MODERATOR_ROLES, authenticated, requires_role


def _clock(value: str | None, field: str) -> time | None:
    if value is None:
        return None
    try:
        parsed = time.fromisoformat(value)
    except ValueError as exc:
        raise BadUserInput("Expected a time as HH:MM.", field=field) from exc
    if len(value) != 5 or parsed.tzinfo is not None:
        raise BadUserInput("Expected a time as HH:MM.", field=field)
    return parsed


def _quiet_hours(values: NotificationPreferencesInput) -> tuple[time | None, time | None] | None:
    start, end = values.quiet_hours_start, values.quiet_hours_end
    if start is strawberry.UNSET and end is strawberry.UNSET:
        return None
    return (
        _clock(None if start is strawberry.UNSET else start, "quietHoursStart"),
        _clock(None if end is strawberry.UNSET else end, "quietHoursEnd"),
    )


@root_read("failedDeliveries")
async def answer_failed_deliveries(
    request: FieldRequest, first: int | None = None, after: str | None = None
) -> Precompleted | None:
    size = page_size(first, request.context.settings)
    values = {"after_id": after_id(after), "limit": size + 1}
    compiled = await compiled_page(
        request, FAILED_DELIVERIES, values, size=size, has_previous=after is not None
    )
    return compiled[0] if compiled is not None else None


@root_read("webhooks")
async def answer_webhooks(request: FieldRequest) -> Precompleted | None:
    return await compiled_list(request, WEBHOOKS, {"user_id": request.context.require_viewer().id})


@strawberry.type
class DeliveriesQuery:
    @strawberry.field(
        description="Where the viewer's notifications go besides the app.", extensions=authenticated()
    )
    async def notification_preferences(self, info: Info) -> NotificationPreferences:
        found = await preferences.preferences_of(info.context.uow, info.context.require_viewer())
        return NotificationPreferences.from_preferences(found, info.context.settings)

    @strawberry.field(description="The viewer's webhooks.", extensions=authenticated())
    async def webhooks(self, info: Info) -> list[Webhook]:
        compiled = await answer_webhooks(request_of(info))
        if compiled is not None:
            return compiled  # type: ignore[return-value]  # passed through by the executor
        rows = await webhooks.list_webhooks(info.context.uow, info.context.require_viewer())
        return [Webhook.from_row(row) for row in rows]

    @strawberry.field(
        description="Dead-lettered deliveries of every member (all attempts failed), newest first.",
        extensions=requires_role(*MODERATOR_ROLES),
    )
    async def failed_deliveries(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[Delivery]:
        compiled = await answer_failed_deliveries(request_of(info), first, after)
        if compiled is not None:
            return compiled  # type: ignore[return-value]  # passed through by the executor
        size = page_size(first, info.context.settings)
        rows = await webhooks.failed_deliveries(info.context.uow, after_id=after_id(after), limit=size + 1)
        return FAILED_DELIVERIES.connection(rows, size, has_previous=after is not None)


@strawberry.type
class DeliveriesMutation:
    @strawberry.mutation(
        description="Choose channels per notification kind and quiet hours.", extensions=authenticated()
    )
    async def update_notification_preferences(
        self, info: Info, input: NotificationPreferencesInput
    ) -> NotificationPreferences:
        kinds = [
            (NotificationKind(item.kind), [DeliveryChannel(c) for c in item.channels])
            for item in input.kinds or []
        ]
        updated = await preferences.update_preferences(
            info.context.uow, info.context.require_viewer(), kinds, _quiet_hours(input)
        )
        return NotificationPreferences.from_preferences(updated, info.context.settings)

    @strawberry.mutation(
        description="Send kinds of the viewer's notifications to a URL, signed; the secret is shown once.",
        extensions=authenticated(),
    )
    async def create_webhook(self, info: Info, input: CreateWebhookInput) -> WebhookWithSecret:
        row, secret = await webhooks.create_webhook(
            info.context.uow, info.context.require_viewer(), input.url, input.events
        )
        return WebhookWithSecret(webhook=Webhook.from_row(row), secret=secret)

    @strawberry.mutation(description="Delete one of the viewer's webhooks.", extensions=authenticated())
    async def delete_webhook(self, info: Info, id: strawberry.ID) -> bool:
        key = parse_global_id(id, "Webhook")
        if not await webhooks.delete_webhook(info.context.uow, info.context.require_viewer(), key):
            raise NotFound("No Webhook with this ID.")
        return True
