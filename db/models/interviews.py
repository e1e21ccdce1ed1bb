"""Interviews (a booked slot) and the feedback participants leave. A candidate cannot hold
overlapping interviews and a slot has one active booking: constraints created by the migration."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.enums import InterviewStatus, sql_values
from db.base import Base, CreatedAtMixin, IdMixin


class Interview(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "interviews"
    __table_args__ = (
        CheckConstraint("candidate_id <> interviewer_id", name="not_self"),
        CheckConstraint(f"status IN ({sql_values(InterviewStatus)})", name="status_valid"),
        Index(
            "uq_interviews_slot_id_active",
            "slot_id",
            unique=True,
            postgresql_where=text(f"status <> '{InterviewStatus.CANCELLED.value}'"),
        ),
        Index("ix_interviews_candidate_id_starts_at", "candidate_id", "starts_at"),
        Index("ix_interviews_interviewer_id_starts_at", "interviewer_id", "starts_at"),
        Index(
            "ix_interviews_reminder_due",
            "starts_at",
            postgresql_where=text(
                f"status = '{InterviewStatus.SCHEDULED.value}' AND reminder_sent_at IS NULL"
            ),
        ),
    )

    slot_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("slots.id"))
    interviewer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    candidate_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    specialization_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("specializations.id"))
    status: Mapped[str] = mapped_column(Text, server_default=InterviewStatus.SCHEDULED.value)
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
