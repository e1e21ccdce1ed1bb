"""Interview content: question banks and rubric templates per specialization, the questions an
interview gets, and the interviewer's scored result (docs/product.md, rule 25)."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Index, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.core.enums import QuestionDifficulty, sql_values
from db.base import Base, CreatedAtMixin, IdMixin

MIN_SCORE, MAX_SCORE = 1, 5


class Question(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "questions"
    __table_args__ = (
        CheckConstraint("char_length(body) BETWEEN 1 AND 4000", name="body_length"),
        CheckConstraint(f"difficulty IN ({sql_values(QuestionDifficulty)})", name="difficulty_valid"),
        CheckConstraint("char_length(suggested_answer) <= 8000", name="suggested_answer_length"),
        CheckConstraint("cardinality(tags) <= 10", name="tags_count"),
        Index("ix_questions_specialization_id_id", "specialization_id", "id"),
    )

    specialization_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("specializations.id"))
    author_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    difficulty: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    suggested_answer: Mapped[str | None] = mapped_column(Text)


class Rubric(IdMixin, CreatedAtMixin, Base):
    """A scoring template: criteria with weights, each scored on a 1-5 scale."""

    __tablename__ = "rubrics"
    __table_args__ = (
        CheckConstraint("char_length(name) BETWEEN 1 AND 120", name="name_length"),
        Index("ix_rubrics_specialization_id_id", "specialization_id", "id"),
    )

    specialization_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("specializations.id"))
    author_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(Text)


class RubricCriterion(IdMixin, Base):
    __tablename__ = "rubric_criteria"
    __table_args__ = (
        CheckConstraint("char_length(name) BETWEEN 1 AND 120", name="name_length"),
        CheckConstraint("char_length(description) <= 1000", name="description_length"),
        CheckConstraint("weight BETWEEN 1 AND 100", name="weight_range"),
        Index("uq_rubric_criteria_rubric_id_position", "rubric_id", "position", unique=True),
    )

    rubric_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("rubrics.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    weight: Mapped[int]


class InterviewQuestion(Base):
    """A question of an interview's set, in the interviewer's order."""

    __tablename__ = "interview_questions"
    __table_args__ = (
        Index("uq_interview_questions_interview_id_position", "interview_id", "position", unique=True),
    )

    interview_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("interviews.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("questions.id"), primary_key=True)
    position: Mapped[int]


class InterviewResult(IdMixin, CreatedAtMixin, Base):
    """The interviewer's scores of one interview against one rubric: at most one per interview (a
    unique index), immutable. Candidate and specialization are copied from the interview so a
    member's progress is read from one index."""

    __tablename__ = "interview_results"
    __table_args__ = (
        CheckConstraint("char_length(summary) <= 4000", name="summary_length"),
        CheckConstraint(f"overall_score BETWEEN {MIN_SCORE} AND {MAX_SCORE}", name="overall_score_range"),
        Index("uq_interview_results_interview_id", "interview_id", unique=True),
        Index(
            "ix_interview_results_candidate_id_specialization_id",
            "candidate_id",
            "specialization_id",
            "id",
        ),
    )

    interview_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("interviews.id"))
    rubric_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("rubrics.id"))
    interviewer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    candidate_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    specialization_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("specializations.id"))
    summary: Mapped[str] = mapped_column(Text, server_default="")
    overall_score: Mapped[float] = mapped_column(Float)


class CriterionScore(Base):
    __tablename__ = "criterion_scores"
    __table_args__ = (
        CheckConstraint(f"score BETWEEN {MIN_SCORE} AND {MAX_SCORE}", name="score_range"),
        CheckConstraint("char_length(comment) <= 2000", name="comment_length"),
    )

    result_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("interview_results.id", ondelete="CASCADE"), primary_key=True
    )
    criterion_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("rubric_criteria.id"), primary_key=True)
    score: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, server_default="")
