"""No-show reports that moderators resolve."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.enums import NoShowStatus, sql_values
from db.base import Base, CreatedAtMixin, IdMixin


class NoShowReport(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "no_show_reports"
    __table_args__ = (
        CheckConstraint(f"status IN ({sql_values(NoShowStatus)})", name="status_valid"),
        Index(
            "uq_no_show_reports_interview_id_open",
            "interview_id",
            unique=True,
            postgresql_where=text(f"status = '{NoShowStatus.OPEN.value}'"),
        ),
        Index(
            "uq_no_show_reports_interview_id_reporter_id",
            "interview_id",
            "reporter_id",
            unique=True,
        ),
        Index("ix_no_show_reports_status_id", "status", "id"),
    )

    interview_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("interviews.id"))
    reporter_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    accused_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=NoShowStatus.OPEN.value)
    resolver_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]


class Block(IdMixin, CreatedAtMixin, Base):
    """One block of a member: who blocked them, why, until when, and when and by whom it was lifted.

    `users.blocked_*` says whether a member is blocked now (read on every request); these rows are
    the history staff read. At most one row per member is open (`unblocked_at` NULL): a new block
    closes the previous one. A temporary block that ran out stays open until replaced, but is not
    active (`until` has passed).
    """

    __tablename__ = "blocks"
    __table_args__ = (
        CheckConstraint("char_length(reason) BETWEEN 1 AND 500", name="reason_length"),
        Index(
            "uq_blocks_user_id_open", "user_id", unique=True, postgresql_where=text("unblocked_at IS NULL")
        ),
        Index("ix_blocks_user_id_id", "user_id", "id"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    # NULL for blocks recorded before this history was kept (migration 0005 copies them from users).
    blocked_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    until: Mapped[datetime | None]
    unblocked_at: Mapped[datetime | None]
    unblocked_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
