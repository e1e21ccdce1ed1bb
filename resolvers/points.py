"""The points ledger: every balance change is one append-only entry, in the same transaction."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import InsufficientPoints
from db.models import PointsEntry, User


async def change_balance(
    session: AsyncSession,
    user_id: int,
    amount: int,
    kind: str,
    *,
    reason: str | None = None,
    interview_id: int | None = None,
    actor_id: int | None = None,
) -> PointsEntry:
    """Add `amount` (signed) to a balance and append the ledger entry.

    The conditional UPDATE takes the row lock and refuses to go below zero in one statement, so
    concurrent spends serialize on the user row; `CHECK (points_balance >= 0)` is the backstop.
    """
    new_balance = await session.scalar(
        update(User)
        .where(User.id == user_id, User.points_balance + amount >= 0)
        .values(points_balance=User.points_balance + amount)
        .returning(User.points_balance)
    )
    if new_balance is None:
        raise InsufficientPoints("Not enough points.", needed=max(0, -amount))
    entry = PointsEntry(
        user_id=user_id,
        amount=amount,
        kind=kind,
        reason=reason,
        interview_id=interview_id,
        actor_id=actor_id,
        balance_after=new_balance,
    )
    session.add(entry)
    await session.flush()
    return entry
