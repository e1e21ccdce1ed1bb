"""The webhook channel: a signed JSON POST (app/core/webhook_signing.py) to the member's URL."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from app.core import netguard, webhook_signing
from app.core.settings import Settings
from resolvers.deliveries.channels import DeliveryFailed, Outgoing
from resolvers.deliveries.content import webhook_body

PERMANENT_STATUSES = frozenset({404, 410})  # the endpoint is gone; retrying cannot help


@dataclass(frozen=True)
class WebhookChannel:
    settings: Settings
    client: httpx.AsyncClient

    async def send(self, item: Outgoing) -> int | None:
        webhook = item.webhook
        assert webhook is not None  # a WEBHOOK delivery always names its webhook (CHECK constraint)
        if self.settings.is_production:  # again at every send: a name may point elsewhere by now
            parts = urlsplit(webhook.url)
            try:
                await netguard.check_resolved(parts.hostname or "", parts.port or 443)
            except netguard.UnsafeUrl as exc:
                raise DeliveryFailed(str(exc), permanent=True) from exc
        body = webhook_body(item.notification, item.delivery.id)
        timestamp = int(item.now.timestamp())
        headers = webhook_signing.signed_headers(
            webhook.secret, timestamp, body, delivery_id=item.delivery.id, event=item.notification.kind
        )
        try:
            response = await self.client.post(
                webhook.url, content=body, headers=headers, timeout=self.settings.webhook_timeout_seconds
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise DeliveryFailed(
                f"HTTP {response.status_code}",
                permanent=response.status_code in PERMANENT_STATUSES,
                response_status=response.status_code,
            )
        return response.status_code
