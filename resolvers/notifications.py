"""Notifications: stored in the caller's transaction, published to the member after commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enums import NotificationKind
from app.core.errors import BadUserInput
from db.models import Interview, Notification, User
from resolvers.deliveries.planning import plan_deliveries
from resolvers.unit_of_work import UnitOfWork

MAX_MARK_READ = 500


def event_of(row: Notification, previous: int | None) -> dict[str, Any]:
    """The published form of a notification: complete, so subscribers need no database read.

    `previous` is the member's notification before it as this transaction saw it (None for the
    first): a live feed that has not delivered that one yet reads it first (`schema/replay.py`).
    """
    return {
        "id": row.id,
        "previous": previous,
        "user_id": row.user_id,
        "kind": row.kind,
        "payload": row.payload,
        "created_at": row.created_at.isoformat(),
    }


async def add_notification(
    session: AsyncSession, user_id: int, kind: NotificationKind, payload: dict[str, Any], now: datetime
) -> Notification:
    """Insert a notification row (flushed, not committed)."""
    kind = NotificationKind(kind)  # ValueError for an unknown kind from an untyped caller
    row = Notification(user_id=user_id, kind=kind, payload=payload, created_at=now)
    session.add(row)
    await session.flush()
    return row


async def notify(
    session: AsyncSession, user_id: int, kind: NotificationKind, payload: dict[str, Any], uow: UnitOfWork
) -> Notification:
    """Store a notification in the caller's transaction, queue its deliveries outside the app, and
    publish it once that commits."""
    latest = select(func.max(Notification.id)).where(Notification.user_id == user_id)
    previous = await session.scalar(latest)
    row = await add_notification(session, user_id, kind, payload, uow.now())
    # Deliveries to the member's other channels are queued in this transaction, so they exist
    # exactly when the notification does (docs/product.md, rule 26).
    await plan_deliveries(session, uow, row)
    # The row gets its id at flush, so the event is built from it now and sent after commit.
    uow.publish_after_commit(uow.channels.notifications(user_id), event_of(row, previous))
    return row


def notifications_statement(user_id: Any, *, unread_only: bool, after_id: Any, limit: Any) -> Select[Any]:
    """A member's notifications, newest first (keyset on id)."""
    statement = select(Notification).where(Notification.user_id == user_id)
    statement = statement.order_by(Notification.id.desc()).limit(limit)
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    if after_id is not None:
        statement = statement.where(Notification.id < after_id)
    return statement


async def list_notifications(
    uow: UnitOfWork, actor: User, *, unread_only: bool, after_id: int | None, limit: int
) -> Sequence[Notification]:
    """The actor's notifications, newest first (keyset on id)."""
    statement = notifications_statement(actor.id, unread_only=unread_only, after_id=after_id, limit=limit)
    return (await uow.db.execute(statement)).scalars().all()


async def notifications_after(
    uow: UnitOfWork, actor: User, *, after_id: int | None, limit: int
) -> Sequence[Notification]:
    """The actor's notifications after `after_id`, oldest first: what a live feed missed
    (docs/product.md, rule 27)."""
    statement = (
        select(Notification)
        .where(Notification.user_id == actor.id)
        .order_by(Notification.id.asc())
        .limit(limit)
    )
    if after_id is not None:
        statement = statement.where(Notification.id > after_id)
    return (await uow.db.execute(statement)).scalars().all()


async def own_notifications(
    uow: UnitOfWork, actor: User | None, ids: Sequence[int]
) -> list[Notification | None]:
    """Notifications by id, None for those that are not the actor's."""
    if actor is None or not ids:
        return [None for _ in ids]
    statement = select(Notification).where(Notification.id.in_(ids), Notification.user_id == actor.id)
    by_id = {row.id: row for row in (await uow.db.execute(statement)).scalars()}
    return [by_id.get(i) for i in ids]


async def mark_read(uow: UnitOfWork, actor: User, ids: Sequence[int]) -> int:
    """Mark the actor's own unread notifications among `ids` read; the number changed."""
    if len(ids) > MAX_MARK_READ:
        raise BadUserInput(f"At most {MAX_MARK_READ} IDs at once.", field="ids")
    if not ids:
        return 0
    async with uow.db.transaction() as session:
        result = await session.execute(
            update(Notification)
            .where(
                Notification.id.in_(list(ids)),
                Notification.user_id == actor.id,
                Notification.read_at.is_(None),
            )
            .values(read_at=uow.now())
            .returning(Notification.id)
        )
        changed = len(result.all())
    return changed


def interview_payload(interview: Interview, **extra: Any) -> dict[str, Any]:
    """Payload naming an interview, plus `extra`.

    Stored payloads hold database ids and snake_case keys (`interview_id`, `accused_id`, ...); the
    GraphQL `Notification.payload` presents them as clients know them (camelCase keys, global IDs).
    """
    return {"interview_id": interview.id, "starts_at": interview.starts_at.isoformat(), **extra}
