"""Sending one delivery, at most once however many workers and retries there are
(docs/product.md, rule 26).

The delivery row is locked (SKIP LOCKED) for the whole attempt and its outcome commits with the lock
released, so two workers never send the same delivery at once, and a SENT or FAILED row is never
sent again. A process that dies after the channel accepted the message but before the commit leaves
the row PENDING, so that one message may be sent twice: receivers recognise the copy by its
delivery id (email Message-ID, webhook `Webhook-Id`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import DeliveryStatus
from db.models import Delivery, Notification, User, Webhook
from resolvers.deliveries.channels import Channel, Channels, DeliveryFailed, Outgoing
from resolvers.unit_of_work import UnitOfWork

MAX_ERROR_LENGTH = 500
LOCK_SUBSCRIPTION = text("SELECT id FROM push_subscriptions WHERE id = :id FOR UPDATE")
DELETE_UNLOCKED_PUSH_DELIVERIES = text(
    "DELETE FROM deliveries WHERE id IN "
    "(SELECT id FROM deliveries WHERE push_subscription_id = :id FOR UPDATE SKIP LOCKED)"
)
DELETE_UNUSED_SUBSCRIPTION = text(
    "DELETE FROM push_subscriptions WHERE id = :id "
    "AND NOT EXISTS (SELECT FROM deliveries WHERE push_subscription_id = :id)"
)


@dataclass(frozen=True)
class Outcome:
    """What became of an attempt; `retry_after` is set when the delivery should be tried again."""

    status: str
    retry_after: timedelta | None = None


def backoff(uow: UnitOfWork, attempts: int) -> timedelta:
    """Exponential: base, 2 x base, 4 x base, ... capped."""
    settings = uow.settings
    seconds = settings.delivery_retry_base_seconds * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.delivery_retry_max_seconds))


async def _load(session: AsyncSession, delivery: Delivery) -> tuple[Notification, User, Webhook | None]:
    notification = await session.get(Notification, delivery.notification_id)
    member = await session.get(User, delivery.user_id)
    assert notification is not None  # foreign keys, ON DELETE CASCADE
    assert member is not None
    webhook = None
    if delivery.webhook_id is not None:
        webhook = await session.get(Webhook, delivery.webhook_id, with_for_update=True)
    return notification, member, webhook


def _webhook_result(uow: UnitOfWork, webhook: Webhook | None, ok: bool) -> None:
    """Count consecutive failures; enough of them disable the webhook."""
    if webhook is None:
        return
    if ok:
        webhook.consecutive_failures = 0
        return
    webhook.consecutive_failures += 1
    if webhook.consecutive_failures >= uow.settings.webhook_max_consecutive_failures:
        webhook.disabled_at = webhook.disabled_at or uow.now()


def _failed(uow: UnitOfWork, delivery: Delivery, exc: DeliveryFailed) -> Outcome:
    delivery.last_error = str(exc)[:MAX_ERROR_LENGTH]
    delivery.response_status = exc.response_status
    if exc.permanent or delivery.attempts >= uow.settings.delivery_max_attempts:
        delivery.status = DeliveryStatus.FAILED
        return Outcome(DeliveryStatus.FAILED)
    return Outcome(DeliveryStatus.PENDING, retry_after=backoff(uow, delivery.attempts))


def _check_sendable(
    channel: Channel | None, delivery: Delivery, member: User, webhook: Webhook | None, now: datetime
) -> None:
    if channel is None:
        raise DeliveryFailed(f"channel {delivery.channel} is not configured", permanent=True)
    if webhook is not None and webhook.disabled_at is not None:
        raise DeliveryFailed("webhook disabled", permanent=True)
    if member.blocked_at is not None and (member.blocked_until is None or member.blocked_until > now):
        # Blocked members get no deliveries, also those queued before the block.
        raise DeliveryFailed("member is blocked", permanent=True)


async def _remove_push_subscription(session: AsyncSession, delivery: Delivery) -> Outcome:
    """The push service says the subscription is gone (404/410): remove this delivery and every other
    one of the subscription no worker is sending, then the subscription once nothing refers to it.

    Deliveries other workers hold are skipped, never waited for (a cascade would wait for their
    locks while they wait for the subscription's): the last of them to find it gone removes it."""
    subscription_id = delivery.push_subscription_id
    session.expunge(delivery)  # deleted below: no UPDATE for it
    parameters = {"id": subscription_id}
    await session.execute(LOCK_SUBSCRIPTION, parameters)
    await session.execute(DELETE_UNLOCKED_PUSH_DELIVERIES, parameters)
    await session.execute(DELETE_UNUSED_SUBSCRIPTION, parameters)
    return Outcome(DeliveryStatus.FAILED)


async def send_delivery(uow: UnitOfWork, channels: Channels, delivery_id: int) -> Outcome:
    """Try one delivery once (the job of `resolvers.deliveries.queue.DELIVER`)."""
    now = uow.now()
    async with uow.db.transaction() as session:
        delivery = await session.scalar(
            select(Delivery).where(Delivery.id == delivery_id).with_for_update(skip_locked=True)
        )
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            # Gone (its webhook was deleted), being sent by another worker, or already settled.
            return Outcome(delivery.status if delivery is not None else DeliveryStatus.FAILED)
        notification, member, webhook = await _load(session, delivery)
        channel = channels.get(delivery.channel)
        delivery.attempts += 1
        delivery.updated_at = now
        try:
            _check_sendable(channel, delivery, member, webhook, now)
            assert channel is not None
            status = await channel.send(Outgoing(session, delivery, notification, member, webhook, now))
        except DeliveryFailed as exc:
            if exc.target_gone:
                return await _remove_push_subscription(session, delivery)
            _webhook_result(uow, webhook, False)
            return _failed(uow, delivery, exc)
        delivery.status = DeliveryStatus.SENT
        delivery.sent_at = now
        delivery.response_status = status
        delivery.last_error = None
        _webhook_result(uow, webhook, True)
    return Outcome(DeliveryStatus.SENT)


async def give_up(uow: UnitOfWork, delivery_id: int, reason: str) -> None:
    """Dead-letter a delivery whose job ran out of attempts on errors of its own (the database away,
    a bug), so that it shows in `failedDeliveries` instead of staying PENDING with no job."""
    async with uow.db.transaction() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.FAILED, last_error=reason[:MAX_ERROR_LENGTH])
        )
