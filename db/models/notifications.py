"""Notifications stored per member; the events hub only fans them out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Computed, ForeignKey, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, CreatedAtMixin, IdMixin


class Notification(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_id_id", "user_id", "id"),
        Index(
            "ix_notifications_user_id_unread",
            "user_id",
            "id",
            postgresql_where=text("read_at IS NULL"),
        ),
    )

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    # `payload` as clients get it (migration 0009; `schema.notifications.types.client_payload` is its
    # Python form, for events that carry a payload and no row).
    client_payload: Mapped[dict[str, Any]] = mapped_column(
        JSONB, Computed("notification_client_payload(payload)", persisted=True)
    )
    read_at: Mapped[datetime | None]
