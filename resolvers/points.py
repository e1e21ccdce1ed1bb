"""The points ledger: every balance change is one append-only entry, in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import LedgerKind, NotificationKind, Role
from app.core.errors import BadUserInput, InsufficientPoints, NotFound
from dataloaders import forget
from db.models import PointsEntry, User
from resolvers import audit, notifications, validation
from resolvers.unit_of_work import UnitOfWork


async def change_balance(
    session: AsyncSession,
    user_id: int,
    amount: int,
    kind: LedgerKind,
    *,
    reason: str | None = None,
    interview_id: int | None = None,
    actor_id: int | None = None,
    uow: UnitOfWork | None,
) -> PointsEntry:
    """Add `amount` (signed) to a balance, append the ledger entry and notify the member
    (POINTS_CHANGED, docs/product.md, rule 26) through `uow`; `uow=None` only for the signup grant
    and fixtures.

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
    if uow is not None:
        payload: dict[str, object] = {
            "amount": amount,
            "balance_after": new_balance,
            "reason": reason,
            "ledger_kind": kind.value,
        }
        if interview_id is not None:
            payload["interview_id"] = interview_id
        await notifications.notify(session, user_id, NotificationKind.POINTS_CHANGED, payload, uow)
    return entry


def ledger_statement(user_id: Any, *, after_id: Any, limit: Any) -> Select[Any]:
    """A member's ledger, newest first, after the entry `after_id`."""
    statement = (
        select(PointsEntry).where(PointsEntry.user_id == user_id).order_by(PointsEntry.id.desc()).limit(limit)
    )
    if after_id is not None:
        statement = statement.where(PointsEntry.id < after_id)
    return statement


async def ledger_entries(
    uow: UnitOfWork, user_id: int, *, after_id: int | None, limit: int
) -> Sequence[PointsEntry]:
    """A member's ledger, newest first (callers check that the viewer may read it)."""
    statement = ledger_statement(user_id, after_id=after_id, limit=limit)
    return (await uow.db.execute(statement)).scalars().all()


async def visible_ledger_entries(
    uow: UnitOfWork, actor: User | None, ids: Sequence[int]
) -> list[PointsEntry | None]:
    """Ledger entries by id, None for those the actor may not read (only the member's own; admins all)."""
    rows = await uow.loaders.points_entry.load_many(ids)
    return [
        row
        if row is not None and actor is not None and (row.user_id == actor.id or actor.role == Role.ADMIN)
        else None
        for row in rows
    ]


async def adjust_points(uow: UnitOfWork, actor: User, user_id: int, amount: int, reason: str) -> PointsEntry:
    """An admin adds or removes points; never below zero, always audit-logged."""
    if amount == 0 or abs(amount) > MAX_ADJUSTMENT:
        raise BadUserInput(f"`amount` must be non-zero and at most {MAX_ADJUSTMENT} in size.", field="amount")
    clean_reason = validation.text(reason, "reason", min_length=1, max_length=500)
    async with uow.db.transaction() as session:
        if await session.get(User, user_id) is None:
            raise NotFound("No User with this ID.")
        entry = await change_balance(
            session, user_id, amount, LedgerKind.ADJUSTMENT, reason=clean_reason, actor_id=actor.id, uow=uow
        )
        await audit.record(
            session,
            "points.adjusted",
            actor_id=actor.id,
            target_type="User",
            target_id=user_id,
            ip=uow.client_ip,
            amount=amount,
            reason=clean_reason,
            balance_after=entry.balance_after,
        )
        await session.refresh(entry)
    forget(uow.loaders.user, user_id)
    return entry


MAX_ADJUSTMENT = 1_000_000
