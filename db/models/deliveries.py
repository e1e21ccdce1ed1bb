"""Notification delivery outside the app: preferences, webhooks and one row per (notification, channel)
(and webhook or push subscription)."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.core.enums import DeliveryChannel, DeliveryStatus, sql_values
from db.base import Base, CreatedAtMixin, IdMixin


class NotificationPreference(Base):
    """Which channels one kind of notification goes to, for one member (no row: the defaults)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    channels: Mapped[list[str]] = mapped_column(ARRAY(Text))


class NotificationSettings(Base):
    """A member's delivery settings that hold for every kind (quiet hours, in their time zone)."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    quiet_hours_start: Mapped[time | None]
    quiet_hours_end: Mapped[time | None]


class Webhook(IdMixin, CreatedAtMixin, Base):
    """A member's signed JSON endpoint for the notification kinds in `events`."""

    __tablename__ = "webhooks"

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    # Needed in clear to sign every delivery; shown to the member only when created.
    secret: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(ARRAY(Text))
    consecutive_failures: Mapped[int] = mapped_column(Integer, server_default="0")
    disabled_at: Mapped[datetime | None]


class Delivery(IdMixin, CreatedAtMixin, Base):
    """One notification on one channel (and webhook): sent at most once, its attempts counted."""

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint(f"channel IN ({sql_values(DeliveryChannel)})", name="channel_valid"),
        CheckConstraint(f"status IN ({sql_values(DeliveryStatus)})", name="status_valid"),
        CheckConstraint("(channel = 'WEBHOOK') = (webhook_id IS NOT NULL)", name="webhook_iff_channel"),
        CheckConstraint(
            "(channel = 'WEB_PUSH') = (push_subscription_id IS NOT NULL)", name="push_iff_channel"
        ),
        Index(
            "uq_deliveries_notification_channel_webhook",
            "notification_id",
            "channel",
            "webhook_id",
            "push_subscription_id",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_deliveries_webhook_id_id", "webhook_id", "id"),
        Index("ix_deliveries_push_subscription_id", "push_subscription_id"),
        Index("ix_deliveries_failed_id", "id", postgresql_where=text("status = 'FAILED'")),
    )

    notification_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("notifications.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(Text)  # the notification's, for the logs without a join
    channel: Mapped[str] = mapped_column(Text)
    webhook_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("webhooks.id", ondelete="CASCADE"))
    push_subscription_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("push_subscriptions.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(Text, server_default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    response_status: Mapped[int | None] = mapped_column(Integer)
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
