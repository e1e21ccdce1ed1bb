"""The append-only points ledger; a member's balance equals the sum of their entries."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.enums import LedgerKind, sql_values
from db.base import Base, CreatedAtMixin, IdMixin

# Kinds an interview causes at most once (the booking, its refund, the interviewer's reward).
ONCE_PER_INTERVIEW = (LedgerKind.SPEND, LedgerKind.REFUND, LedgerKind.REWARD)


class PointsEntry(IdMixin, CreatedAtMixin, Base):
    """Append-only ledger; a trigger refuses UPDATE and DELETE (see the migration)."""

    __tablename__ = "points_ledger"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_non_zero"),
        CheckConstraint(f"kind IN ({sql_values(LedgerKind)})", name="kind_valid"),
        Index("ix_points_ledger_user_id_id", "user_id", "id"),
        Index(
            "uq_points_ledger_interview_id_kind_once",
            "interview_id",
            "kind",
            unique=True,
            postgresql_where=text(f"kind IN ({sql_values(ONCE_PER_INTERVIEW)})"),
        ),
    )

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    amount: Mapped[int]
    kind: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    interview_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("interviews.id"))
    actor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    balance_after: Mapped[int]
