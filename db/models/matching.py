"""The matching queue: a member's ticket (waiting, then matched, cancelled or expired) and the match
that paired two tickets with one interview, or two back to back.

Nobody waits twice (a partial unique index on WAITING tickets per member) and a ticket belongs to at
most one match (its one `match_id`, set exactly when it is MATCHED: a CHECK)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.enums import MatchLevel, MatchRole, MatchTicketStatus, sql_values
from db.base import Base, CreatedAtMixin, IdMixin

MIN_DURATION_MINUTES = 15
MAX_DURATION_MINUTES = 180
MAX_LANGUAGE_LENGTH = 40
WAITING = MatchTicketStatus.WAITING.value
MATCHED = MatchTicketStatus.MATCHED.value


class Match(IdMixin, CreatedAtMixin, Base):
    """Two tickets paired: the first interview starts at once, the second (both chose EITHER) right
    after it with the roles swapped."""

    __tablename__ = "matches"
    __table_args__ = (
        CheckConstraint("first_interview_id <> second_interview_id", name="two_interviews"),
        Index("uq_matches_first_interview_id", "first_interview_id", unique=True),
        Index("uq_matches_second_interview_id", "second_interview_id", unique=True),
    )

    specialization_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("specializations.id"))
    first_interview_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("interviews.id"))
    second_interview_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("interviews.id"))


class MatchTicket(IdMixin, CreatedAtMixin, Base):
    """One member's place in the queue; `created_at` is its arrival."""

    __tablename__ = "match_tickets"
    __table_args__ = (
        CheckConstraint(f"role IN ({sql_values(MatchRole)})", name="role_valid"),
        CheckConstraint(f"level IN ({sql_values(MatchLevel)})", name="level_valid"),
        CheckConstraint(f"status IN ({sql_values(MatchTicketStatus)})", name="status_valid"),
        CheckConstraint(
            f"duration_minutes BETWEEN {MIN_DURATION_MINUTES} AND {MAX_DURATION_MINUTES}",
            name="duration_range",
        ),
        CheckConstraint(f"char_length(language) BETWEEN 1 AND {MAX_LANGUAGE_LENGTH}", name="language_length"),
        CheckConstraint("video_link ~ '^https?://'", name="video_link_http"),
        CheckConstraint(f"(status = '{MATCHED}') = (match_id IS NOT NULL)", name="matched_has_match"),
        CheckConstraint("expires_at > created_at", name="expires_after_arrival"),
        Index(
            "uq_match_tickets_user_id_waiting",
            "user_id",
            unique=True,
            postgresql_where=text(f"status = '{WAITING}'"),
        ),
        Index(
            "ix_match_tickets_waiting_arrival",
            "specialization_id",
            "duration_minutes",
            "created_at",
            "id",
            postgresql_where=text(f"status = '{WAITING}'"),
        ),
        Index("ix_match_tickets_user_id_id", "user_id", "id"),
        Index("ix_match_tickets_match_id", "match_id"),
        Index("ix_match_tickets_specialization_id_matched_at", "specialization_id", "matched_at"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    specialization_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("specializations.id"))
    role: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str | None] = mapped_column(Text)
    duration_minutes: Mapped[int]
    video_link: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=WAITING)
    expires_at: Mapped[datetime]
    matched_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    match_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("matches.id"))
