"""The delivery channels this process sends through, from its settings."""

from __future__ import annotations

import httpx

from app.core import web_push
from app.core.enums import DeliveryChannel
from app.core.settings import Settings
from app.core.telegram import TelegramBot
from resolvers.deliveries.channels import Channel
from resolvers.deliveries.email import EmailChannel
from resolvers.deliveries.push import PushChannel
from resolvers.deliveries.telegram import TelegramChannel
from resolvers.deliveries.webhook import WebhookChannel


def build_channels(settings: Settings, http: httpx.AsyncClient) -> dict[str, Channel]:
    """Email when `SMTP_URL` is set, web push with the VAPID settings, Telegram with a bot token;
    webhooks always. Keys that do not fit raise at startup rather than at the first delivery."""
    channels: dict[str, Channel] = {DeliveryChannel.WEBHOOK: WebhookChannel(settings, http)}
    if settings.smtp_url:
        channels[DeliveryChannel.EMAIL] = EmailChannel(settings, settings.resolved_secret_key())
    if settings.web_push_enabled:
        vapid = web_push.Vapid(
            settings.vapid_public_key or "", settings.vapid_private_key or "", settings.vapid_subject or ""
        )
        channels[DeliveryChannel.WEB_PUSH] = PushChannel(settings, vapid, http)
    bot = telegram_bot(settings, http)
    if bot is not None:
        channels[DeliveryChannel.TELEGRAM] = TelegramChannel(bot)
    return channels


def telegram_bot(settings: Settings, http: httpx.AsyncClient) -> TelegramBot | None:
    if not settings.telegram_bot_token:
        return None
    return TelegramBot(
        settings.telegram_api_url, settings.telegram_bot_token, http, settings.telegram_timeout_seconds
    )


def webhook_http_client() -> httpx.AsyncClient:
    """No redirects (a redirect could lead inside the network), no proxies from the environment."""
    return httpx.AsyncClient(
        follow_redirects=False, trust_env=False, headers={"User-Agent": "mockinterview-webhooks"}
    )
