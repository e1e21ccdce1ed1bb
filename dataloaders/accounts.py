"""Batch loaders for members and specializations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import Row, inspect, select
from sqlalchemy.orm.instrumentation import manager_of_class

from db.models import User, UserSpecialization

if TYPE_CHECKING:
    from db.session import Db


# (attribute, column) of every mapped column of users, for `load_viewer`.
_USER_ATTRIBUTES = [(attr.key, attr.columns[0].name) for attr in inspect(User).column_attrs]
_USER_CLASS = manager_of_class(User)
_VIEWER_SQL = f"SELECT {', '.join(column for _, column in _USER_ATTRIBUTES)} FROM users WHERE id = $1"  # noqa: S608
# The same row and whether the session (refresh-token family) $2 is live: not every token of it revoked
# (one probe of ix_refresh_tokens_family_id; a live family's tokens are all unrevoked).
_VIEWER_SESSION_SQL = _VIEWER_SQL.replace(
    " FROM users",
    ", EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = $2 AND r.user_id = users.id"
    " AND r.revoked_at IS NULL) AS session_live FROM users",
    1,
)


async def load_viewer(db: Db, user_id: int) -> User | None:
    """The signed-in member for the request context: one statement on the raw connection (no ORM
    load, and no transaction for read-only requests), as a detached `User` with every column set.
    Code that changes the member loads it in its own transaction (`session.get`) as before."""
    records = await db.fetch_raw(_VIEWER_SQL, user_id)
    if not records:
        return None
    return _detached_user(records[0])


async def load_viewer_in_session(db: Db, user_id: int, session_id: UUID) -> tuple[User | None, bool]:
    """`load_viewer` and whether the session `session_id` of that member is live, in the same one
    statement (docs/trust.md, "Revocation")."""
    records = await db.fetch_raw(_VIEWER_SESSION_SQL, user_id, session_id)
    if not records:
        return None, False
    record = records[0]
    return _detached_user(record), bool(record["session_live"])


def _detached_user(record: Any) -> User:
    """A `User` with every column set from `record`, as the ORM's own loading fills an instance:
    straight into its `__dict__`, not through the attribute events `User(...)` fires (a tenth of
    the cost; the instance is not marked as changed either)."""
    user: User = _USER_CLASS.new_instance()
    user.__dict__.update({key: record[column] for key, column in _USER_ATTRIBUTES})
    return user


# The columns of the per-request user cache (`Loaders.user`), from which `schema.accounts.types.User`
# is built: Core rows of these columns skip ORM hydration, which matters on pages of many members.
USER_ROW_COLUMNS = (
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
    User.calendar_token,
)
# A Core row of `USER_ROW_COLUMNS`: read-only, attribute names as on the ORM model.
UserRow = Row[Any]


async def load_user_rows(db: Db, ids: Sequence[int]) -> list[UserRow | None]:
    """Users by id as Core rows of `USER_ROW_COLUMNS`."""
    rows = (await db.execute(select(*USER_ROW_COLUMNS).where(User.id.in_(ids)))).all()
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
