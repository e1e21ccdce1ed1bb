"""Which channels a new notification goes to, decided in the transaction that stores it: one
delivery row per channel (and webhook) and one job each, committed with the notification or not at
all (docs/product.md, rule 26)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import DeliveryChannel
from db.models import Notification
from resolvers.deliveries.preferences import PERSONAL_CHANNELS, default_channels, quiet_delay
from resolvers.deliveries.queue import enqueue_deliveries
from resolvers.unit_of_work import UnitOfWork

RECIPIENT = text(
    """
    SELECT u.timezone, p.channels, s.quiet_hours_start, s.quiet_hours_end,
           ARRAY(SELECT w.id FROM webhooks w
                 WHERE w.user_id = u.id AND w.disabled_at IS NULL AND :kind = ANY(w.events)
                 ORDER BY w.id) AS webhook_ids
    FROM users u
    LEFT JOIN notification_preferences p ON p.user_id = u.id AND p.kind = :kind
    LEFT JOIN notification_settings s ON s.user_id = u.id
    WHERE u.id = :user_id
    """
)
INSERT_DELIVERIES = text(
    """
    INSERT INTO deliveries (notification_id, user_id, kind, channel, webhook_id)
    SELECT :notification_id, :user_id, :kind, t.channel, t.webhook_id
    FROM unnest(CAST(:channels AS text[]), CAST(:webhook_ids AS bigint[])) AS t(channel, webhook_id)
    ON CONFLICT DO NOTHING
    RETURNING id, channel
    """
)


def _targets(uow: UnitOfWork, kind: str, recipient: Any) -> list[tuple[str, int | None]]:
    chosen = recipient.channels if recipient.channels is not None else default_channels(kind)
    targets: list[tuple[str, int | None]] = []
    if DeliveryChannel.EMAIL in chosen and uow.settings.smtp_url:
        targets.append((DeliveryChannel.EMAIL.value, None))
    if DeliveryChannel.WEBHOOK in chosen:
        targets.extend((DeliveryChannel.WEBHOOK.value, webhook_id) for webhook_id in recipient.webhook_ids)
    return targets


async def plan_deliveries(session: AsyncSession, uow: UnitOfWork, notification: Notification) -> int:
    """Insert the notification's deliveries and queue them; the number queued."""
    recipient = (
        await session.execute(RECIPIENT, {"kind": notification.kind, "user_id": notification.user_id})
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
            "channels": [channel for channel, _ in targets],
            "webhook_ids": [webhook_id for _, webhook_id in targets],
        },
    )
    rows = inserted.all()
    quiet = quiet_delay(uow.now(), recipient.timezone, recipient.quiet_hours_start, recipient.quiet_hours_end)
    delays: list[timedelta | None] = [
        quiet if DeliveryChannel(channel) in PERSONAL_CHANNELS else None for _, channel in rows
    ]
    await enqueue_deliveries(session, [delivery_id for delivery_id, _ in rows], delays)
    return len(rows)
