"""Which channels a new notification goes to, decided in the transaction that stores it: one
delivery row per channel (and webhook) and one job each, committed with the notification or not at
all (docs/product.md, rule 26)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import DeliveryChannel
from db.models import Notification
from resolvers.deliveries.preferences import PERSONAL_CHANNELS, default_channels, quiet_delay
from resolvers.deliveries.queue import enqueue_deliveries
from resolvers.unit_of_work import UnitOfWork

# Blocked members get no deliveries (their notifications stay in-app): the block may be lifted, and
# a block's own consequences must not reach them outside the app.
RECIPIENT = text(
    """
    SELECT u.timezone, p.channels, s.quiet_hours_start, s.quiet_hours_end,
           ARRAY(SELECT w.id FROM webhooks w
                 WHERE w.user_id = u.id AND w.disabled_at IS NULL AND :kind = ANY(w.events)
                 ORDER BY w.id) AS webhook_ids,
           ARRAY(SELECT ps.id FROM push_subscriptions ps WHERE ps.user_id = u.id ORDER BY ps.id)
               AS push_subscription_ids,
           EXISTS (SELECT FROM telegram_chats tc WHERE tc.user_id = u.id) AS telegram_linked
    FROM users u
    LEFT JOIN notification_preferences p ON p.user_id = u.id AND p.kind = :kind
    LEFT JOIN notification_settings s ON s.user_id = u.id
    WHERE u.id = :user_id
      AND (u.blocked_at IS NULL OR (u.blocked_until IS NOT NULL AND u.blocked_until <= :now))
    """
)
INSERT_DELIVERIES = text(
    """
    INSERT INTO deliveries (notification_id, user_id, kind, channel, webhook_id, push_subscription_id)
    SELECT :notification_id, :user_id, :kind, t.channel, t.webhook_id, t.push_subscription_id
    FROM unnest(CAST(:channels AS text[]), CAST(:webhook_ids AS bigint[]),
                CAST(:push_subscription_ids AS bigint[])) AS t(channel, webhook_id, push_subscription_id)
    ON CONFLICT DO NOTHING
    RETURNING id, channel
    """
)


@dataclass(frozen=True)
class Target:
    channel: DeliveryChannel
    webhook_id: int | None = None
    push_subscription_id: int | None = None


def _targets(uow: UnitOfWork, kind: str, recipient: Any) -> list[Target]:
    """One target per configured channel the member chose for `kind` and can be reached on."""
    chosen = recipient.channels if recipient.channels is not None else default_channels(kind)
    settings = uow.settings
    targets: list[Target] = []
    if DeliveryChannel.EMAIL in chosen and settings.smtp_url:
        targets.append(Target(DeliveryChannel.EMAIL))
    if DeliveryChannel.WEBHOOK in chosen:
        targets.extend(Target(DeliveryChannel.WEBHOOK, webhook_id=i) for i in recipient.webhook_ids)
    if DeliveryChannel.WEB_PUSH in chosen and settings.web_push_enabled:
        targets.extend(
            Target(DeliveryChannel.WEB_PUSH, push_subscription_id=i) for i in recipient.push_subscription_ids
        )
    if DeliveryChannel.TELEGRAM in chosen and settings.telegram_bot_token and recipient.telegram_linked:
        targets.append(Target(DeliveryChannel.TELEGRAM))
    return targets


async def plan_deliveries(session: AsyncSession, uow: UnitOfWork, notification: Notification) -> int:
    """Insert the notification's deliveries and queue them; the number queued."""
    recipient = (
        await session.execute(
            RECIPIENT, {"kind": notification.kind, "user_id": notification.user_id, "now": uow.now()}
        )
    ).one_or_none()
    if recipient is None:
        return 0
    targets = _targets(uow, notification.kind, recipient)
    if not targets:
        return 0
    inserted = await session.execute(
        INSERT_DELIVERIES,
        {
            "notification_id": notification.id,
            "user_id": notification.user_id,
            "kind": notification.kind,
            "channels": [target.channel.value for target in targets],
            "webhook_ids": [target.webhook_id for target in targets],
            "push_subscription_ids": [target.push_subscription_id for target in targets],
        },
    )
    rows = inserted.all()
    quiet = quiet_delay(uow.now(), recipient.timezone, recipient.quiet_hours_start, recipient.quiet_hours_end)
    delays: list[timedelta | None] = [
        quiet if DeliveryChannel(channel) in PERSONAL_CHANNELS else None for _, channel in rows
    ]
    await enqueue_deliveries(session, [delivery_id for delivery_id, _ in rows], delays)
    return len(rows)
