"""The instant matching queue: tickets and matches.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

WAITING = "status = 'WAITING'"


def _fk(
    table: str, column: str, target: str, *, nullable: bool = False, ondelete: str | None = None
) -> sa.Column[int]:
    """A bigint column referencing `target.id`, its constraint named as db/base.py's convention does."""
    key = sa.ForeignKey(f"{target}.id", ondelete=ondelete, name=op.f(f"fk_{table}_{column}_{target}"))
    return sa.Column(column, sa.BigInteger(), key, nullable=nullable)


def _check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def _created_at() -> sa.Column[datetime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _matches() -> None:
    op.create_table(
        "matches",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        _fk("matches", "specialization_id", "specializations"),
        _fk("matches", "first_interview_id", "interviews"),
        _fk("matches", "second_interview_id", "interviews", nullable=True),
        _created_at(),
        _check("matches", "two_interviews", "first_interview_id <> second_interview_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matches")),
    )
    op.create_index("uq_matches_first_interview_id", "matches", ["first_interview_id"], unique=True)
    op.create_index("uq_matches_second_interview_id", "matches", ["second_interview_id"], unique=True)


def _tickets() -> None:
    table = "match_tickets"
    op.create_table(
        table,
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        _fk(table, "user_id", "users", ondelete="CASCADE"),
        _fk(table, "specialization_id", "specializations"),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("level", sa.Text(), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("video_link", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="WAITING", nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        _fk(table, "match_id", "matches", nullable=True),
        _created_at(),
        _check(table, "role_valid", "role IN ('INTERVIEWER', 'CANDIDATE', 'EITHER')"),
        _check(table, "level_valid", "level IN ('JUNIOR', 'MIDDLE', 'SENIOR')"),
        _check(table, "status_valid", "status IN ('WAITING', 'MATCHED', 'CANCELLED', 'EXPIRED')"),
        _check(table, "duration_range", "duration_minutes BETWEEN 15 AND 180"),
        _check(table, "language_length", "char_length(language) BETWEEN 1 AND 40"),
        _check(table, "video_link_http", "video_link ~ '^https?://'"),
        _check(table, "matched_has_match", "(status = 'MATCHED') = (match_id IS NOT NULL)"),
        _check(table, "expires_after_arrival", "expires_at > created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_tickets")),
    )
    # One waiting ticket per member: nobody can be paired twice from the queue at once.
    op.create_index(
        "uq_match_tickets_user_id_waiting", table, ["user_id"], unique=True, postgresql_where=sa.text(WAITING)
    )
    op.create_index(
        "ix_match_tickets_waiting_arrival",
        table,
        ["specialization_id", "duration_minutes", "created_at", "id"],
        postgresql_where=sa.text(WAITING),
    )
    op.create_index("ix_match_tickets_user_id_id", table, ["user_id", "id"])
    op.create_index("ix_match_tickets_match_id", table, ["match_id"])
    op.create_index(
        "ix_match_tickets_specialization_id_matched_at", table, ["specialization_id", "matched_at"]
    )


def upgrade() -> None:
    _matches()
    _tickets()


def downgrade() -> None:
    op.drop_table("match_tickets")
    op.drop_table("matches")
