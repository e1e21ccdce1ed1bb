"""Slots on the board. A host cannot have overlapping slots: an exclusion constraint created by
the migration (0001_initial) over an int8range of the host id, because pgserver ships no btree_gist."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.enums import SlotStatus, sql_values
from db.base import Base, CreatedAtMixin, IdMixin


class Slot(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "slots"
    __table_args__ = (
        CheckConstraint("duration_minutes BETWEEN 15 AND 180", name="duration_range"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint(f"status IN ({sql_values(SlotStatus)})", name="status_valid"),
        CheckConstraint("video_link ~ '^https?://'", name="video_link_http"),
        CheckConstraint("char_length(title) <= 200", name="title_length"),
        CheckConstraint("char_length(description) <= 2000", name="description_length"),
        Index(
            "ix_slots_open_board",
            "starts_at",
            "id",
            postgresql_where=text(f"status = '{SlotStatus.OPEN.value}'"),
        ),
    )

    host_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    specialization_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("specializations.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    duration_minutes: Mapped[int]
    video_link: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=SlotStatus.OPEN.value)
