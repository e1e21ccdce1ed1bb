"""Interview content (question banks, rubrics, interview question sets, scored results), block
history, archived specializations

Existing blocks (`users.blocked_at`) are copied into `blocks` with an unknown blocker, so the list of
active blocks is complete from the start.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False)


def _pk(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(*(columns or ("id",)), name=op.f(f"pk_{table}"))


def _created_at() -> sa.Column[datetime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _fk(
    table: str, column: str, target: str, *, nullable: bool = False, ondelete: str | None = None
) -> sa.Column[int]:
    """A bigint column referencing `target.id`, its constraint named as db/base.py's convention does."""
    key = sa.ForeignKey(f"{target}.id", ondelete=ondelete, name=op.f(f"fk_{table}_{column}_{target}"))
    return sa.Column(column, sa.BigInteger(), key, nullable=nullable)


def _check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def _content_tables() -> None:
    op.create_table(
        "questions",
        _id(),
        _fk("questions", "specialization_id", "specializations"),
        _fk("questions", "author_id", "users", nullable=True, ondelete="SET NULL"),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("difficulty", sa.Text(), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("suggested_answer", sa.Text(), nullable=True),
        _created_at(),
        _check("questions", "body_length", "char_length(body) BETWEEN 1 AND 4000"),
        _check("questions", "difficulty_valid", "difficulty IN ('EASY', 'MEDIUM', 'HARD')"),
        _check("questions", "suggested_answer_length", "char_length(suggested_answer) <= 8000"),
        _check("questions", "tags_count", "cardinality(tags) <= 10"),
        _pk("questions"),
    )
    op.create_index("ix_questions_specialization_id_id", "questions", ["specialization_id", "id"])
    op.create_table(
        "rubrics",
        _id(),
        _fk("rubrics", "specialization_id", "specializations"),
        _fk("rubrics", "author_id", "users", nullable=True, ondelete="SET NULL"),
        sa.Column("name", sa.Text(), nullable=False),
        _created_at(),
        _check("rubrics", "name_length", "char_length(name) BETWEEN 1 AND 120"),
        _pk("rubrics"),
    )
    op.create_index("ix_rubrics_specialization_id_id", "rubrics", ["specialization_id", "id"])
    op.create_table(
        "rubric_criteria",
        _id(),
        _fk("rubric_criteria", "rubric_id", "rubrics", ondelete="CASCADE"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        _check("rubric_criteria", "name_length", "char_length(name) BETWEEN 1 AND 120"),
        _check("rubric_criteria", "description_length", "char_length(description) <= 1000"),
        _check("rubric_criteria", "weight_range", "weight BETWEEN 1 AND 100"),
        _pk("rubric_criteria"),
    )
    op.create_index(
        "uq_rubric_criteria_rubric_id_position", "rubric_criteria", ["rubric_id", "position"], unique=True
    )


def _interview_tables() -> None:
    op.create_table(
        "interview_questions",
        _fk("interview_questions", "interview_id", "interviews", ondelete="CASCADE"),
        _fk("interview_questions", "question_id", "questions"),
        sa.Column("position", sa.Integer(), nullable=False),
        _pk("interview_questions", "interview_id", "question_id"),
    )
    op.create_index(
        "uq_interview_questions_interview_id_position",
        "interview_questions",
        ["interview_id", "position"],
        unique=True,
    )
    op.create_table(
        "interview_results",
        _id(),
        _fk("interview_results", "interview_id", "interviews"),
        _fk("interview_results", "rubric_id", "rubrics"),
        _fk("interview_results", "interviewer_id", "users"),
        _fk("interview_results", "candidate_id", "users"),
        _fk("interview_results", "specialization_id", "specializations"),
        sa.Column("summary", sa.Text(), server_default="", nullable=False),
        sa.Column("overall_score", sa.Float(), nullable=False),
        _created_at(),
        _check("interview_results", "summary_length", "char_length(summary) <= 4000"),
        _check("interview_results", "overall_score_range", "overall_score BETWEEN 1 AND 5"),
        _pk("interview_results"),
    )
    # One result per interview: two scoreInterview at once store one (docs/product.md, rule 25).
    op.create_index("uq_interview_results_interview_id", "interview_results", ["interview_id"], unique=True)
    op.create_index(
        "ix_interview_results_candidate_id_specialization_id",
        "interview_results",
        ["candidate_id", "specialization_id", "id"],
    )
    op.create_table(
        "criterion_scores",
        _fk("criterion_scores", "result_id", "interview_results", ondelete="CASCADE"),
        _fk("criterion_scores", "criterion_id", "rubric_criteria"),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        _check("criterion_scores", "score_range", "score BETWEEN 1 AND 5"),
        _check("criterion_scores", "comment_length", "char_length(comment) <= 2000"),
        _pk("criterion_scores", "result_id", "criterion_id"),
    )


def _blocks_table() -> None:
    op.create_table(
        "blocks",
        _id(),
        _fk("blocks", "user_id", "users", ondelete="CASCADE"),
        _fk("blocks", "blocked_by_id", "users", nullable=True, ondelete="SET NULL"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unblocked_at", sa.DateTime(timezone=True), nullable=True),
        _fk("blocks", "unblocked_by_id", "users", nullable=True, ondelete="SET NULL"),
        _created_at(),
        _check("blocks", "reason_length", "char_length(reason) BETWEEN 1 AND 500"),
        _pk("blocks"),
    )
    op.create_index(
        "uq_blocks_user_id_open",
        "blocks",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("unblocked_at IS NULL"),
    )
    op.create_index("ix_blocks_user_id_id", "blocks", ["user_id", "id"])
    op.execute(
        "INSERT INTO blocks (user_id, reason, until, created_at) "
        "SELECT id, left(coalesce(nullif(block_reason, ''), 'unknown'), 500), blocked_until, blocked_at "
        "FROM users WHERE blocked_at IS NOT NULL ORDER BY id"
    )


def upgrade() -> None:
    op.add_column("specializations", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    _content_tables()
    _interview_tables()
    _blocks_table()


def downgrade() -> None:
    for table in (
        "blocks",
        "criterion_scores",
        "interview_results",
        "interview_questions",
        "rubric_criteria",
        "rubrics",
        "questions",
    ):
        op.drop_table(table)
    op.drop_column("specializations", "archived_at")
