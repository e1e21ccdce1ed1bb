"""Batch loaders for members and specializations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, select

from db.models import Specialization, User, UserSpecialization

if TYPE_CHECKING:
    from app.context import Db


async def load_users(db: Db, ids: Sequence[int]) -> list[User | None]:
    rows = (await db.execute(select(User).where(User.id.in_(ids)))).scalars()
    by_id = {row.id: row for row in rows}
    return [by_id.get(i) for i in ids]


# What `schema.types.accounts.User` is built from: Core rows of these columns skip ORM hydration.
USER_NODE_COLUMNS = (
    User.id,
    User.display_name,
    User.role,
    User.timezone,
    User.bio,
    User.created_at,
    User.email,
    User.points_balance,
    User.blocked_at,
    User.blocked_until,
)


async def load_user_rows(db: Db, ids: Sequence[int]) -> list[Row[Any] | None]:
    """Users by id as Core rows of `USER_NODE_COLUMNS` (attribute names as on the ORM model)."""
    rows = (await db.execute(select(*USER_NODE_COLUMNS).where(User.id.in_(ids)))).all()
    by_id = {row.id: row for row in rows}
    return [by_id.get(i) for i in ids]


async def load_specializations(db: Db, ids: Sequence[int]) -> list[Specialization | None]:
    rows = (await db.execute(select(Specialization).where(Specialization.id.in_(ids)))).scalars()
    by_id = {row.id: row for row in rows}
    return [by_id.get(i) for i in ids]


async def load_user_specialization_ids(db: Db, user_ids: Sequence[int]) -> list[list[int]]:
    statement = (
        select(UserSpecialization.user_id, UserSpecialization.specialization_id)
        .where(UserSpecialization.user_id.in_(user_ids))
        .order_by(UserSpecialization.specialization_id)
    )
    grouped: dict[int, list[int]] = defaultdict(list)
    for row in (await db.execute(statement)).all():
        grouped[row.user_id].append(row.specialization_id)
    return [grouped.get(i, []) for i in user_ids]
