"""Slots, interviews, the points ledger, feedback and no-show reports.

Overlap rules live in exclusion constraints created by the migration (see 0001_initial), because
pgserver ships no btree_gist: the owner key is wrapped in an int8range so plain GiST range ops work.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, CreatedAtMixin, IdMixin

SLOT_STATUSES = ("OPEN", "BOOKED", "WITHDRAWN")
INTERVIEW_STATUSES = ("SCHEDULED", "IN_PROGRESS", "COMPLETED", "CANCELLED", "NO_SHOW")
LEDGER_KINDS = ("GRANT", "SPEND", "REFUND", "REWARD", "PENALTY", "ADJUSTMENT")
NO_SHOW_STATUSES = ("OPEN", "UPHELD", "REJECTED")


class Slot(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "slots"
    __table_args__ = (
        CheckConstraint("duration_minutes BETWEEN 15 AND 180", name="duration_range"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("status IN ('OPEN', 'BOOKED', 'WITHDRAWN')", name="status_valid"),
        CheckConstraint("video_link ~ '^https?://'", name="video_link_http"),
        CheckConstraint("char_length(title) <= 200", name="title_length"),
        CheckConstraint("char_length(description) <= 2000", name="description_length"),
        Index("ix_slots_open_board", "starts_at", "id", postgresql_where=text("status = 'OPEN'")),
    )

    host_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    specialization_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("specializations.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    duration_minutes: Mapped[int]
    video_link: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="OPEN")


class Interview(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "interviews"
    __table_args__ = (
        CheckConstraint("candidate_id <> interviewer_id", name="not_self"),
        CheckConstraint(
            "status IN ('SCHEDULED', 'IN_PROGRESS', 'COMPLETED', 'CANCELLED', 'NO_SHOW')",
            name="status_valid",
        ),
        Index(
            "uq_interviews_slot_id_active",
            "slot_id",
            unique=True,
            postgresql_where=text("status <> 'CANCELLED'"),
        ),
        Index("ix_interviews_candidate_id_starts_at", "candidate_id", "starts_at"),
        Index("ix_interviews_interviewer_id_starts_at", "interviewer_id", "starts_at"),
        Index(
            "ix_interviews_reminder_due",
            "starts_at",
            postgresql_where=text("status = 'SCHEDULED' AND reminder_sent_at IS NULL"),
        ),
    )

    slot_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("slots.id"))
    interviewer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    candidate_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    specialization_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("specializations.id"))
    status: Mapped[str] = mapped_column(Text, server_default="SCHEDULED")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    no_show_user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    reminder_sent_at: Mapped[datetime | None]
    archived_by_interviewer: Mapped[bool] = mapped_column(server_default="false")
    archived_by_candidate: Mapped[bool] = mapped_column(server_default="false")
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class PointsEntry(IdMixin, CreatedAtMixin, Base):
    """Append-only ledger; a trigger refuses UPDATE and DELETE (see the migration)."""

    __tablename__ = "points_ledger"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_non_zero"),
        CheckConstraint(
            "kind IN ('GRANT', 'SPEND', 'REFUND', 'REWARD', 'PENALTY', 'ADJUSTMENT')",
            name="kind_valid",
        ),
        Index("ix_points_ledger_user_id_id", "user_id", "id"),
        Index(
            "uq_points_ledger_interview_id_kind_once",
            "interview_id",
            "kind",
            unique=True,
            postgresql_where=text("kind IN ('SPEND', 'REFUND', 'REWARD')"),
        ),
    )

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    amount: Mapped[int]
    kind: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    interview_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("interviews.id"))
    actor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    balance_after: Mapped[int]


class Feedback(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        CheckConstraint("char_length(comment) BETWEEN 10 AND 2000", name="comment_length"),
        Index("uq_feedback_interview_id_author_id", "interview_id", "author_id", unique=True),
        Index("ix_feedback_subject_id", "subject_id"),
    )

    interview_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("interviews.id"))
    author_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    subject_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    subject_was_interviewer: Mapped[bool]
    rating: Mapped[int]
    comment: Mapped[str] = mapped_column(Text)


class NoShowReport(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "no_show_reports"
    __table_args__ = (
        CheckConstraint("status IN ('OPEN', 'UPHELD', 'REJECTED')", name="status_valid"),
        Index(
            "uq_no_show_reports_interview_id_open",
            "interview_id",
            unique=True,
            postgresql_where=text("status = 'OPEN'"),
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
    status: Mapped[str] = mapped_column(Text, server_default="OPEN")
    resolver_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
