"""The delivery channels this process sends through, from its settings."""

from __future__ import annotations

import httpx

from app.core.enums import DeliveryChannel
from app.core.settings import Settings
from resolvers.deliveries.channels import Channel
from resolvers.deliveries.email import EmailChannel
from resolvers.deliveries.webhook import WebhookChannel


def build_channels(settings: Settings, http: httpx.AsyncClient) -> dict[str, Channel]:
    """Email when `SMTP_URL` is set; webhooks always."""
    channels: dict[str, Channel] = {DeliveryChannel.WEBHOOK: WebhookChannel(settings, http)}
    if settings.smtp_url:
        channels[DeliveryChannel.EMAIL] = EmailChannel(settings, settings.resolved_secret_key())
    return channels


def webhook_http_client() -> httpx.AsyncClient:
    """No redirects (a redirect could lead inside the network), no proxies from the environment."""
    return httpx.AsyncClient(
        follow_redirects=False, trust_env=False, headers={"User-Agent": "mockinterview-webhooks"}
    )
