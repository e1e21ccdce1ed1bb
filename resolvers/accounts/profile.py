"""Profiles: a member's own details, and staff search over members."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, insert, or_, select, update

from app.core.enums import Role
from app.core.errors import BadUserInput, NotFound
from dataloaders import forget
from dataloaders.accounts import UserRow
from db.models import Specialization, User, UserSpecialization
from resolvers import validation
from resolvers.unit_of_work import UnitOfWork


async def update_profile(
    uow: UnitOfWork,
    actor: User,
    *,
    display_name: str | None,
    bio: str | None,
    timezone: str | None,
    specialization_ids: list[int] | None,
) -> User:
    values: dict[str, object] = {}
    if display_name is not None:
        values["display_name"] = validation.text(display_name, "displayName", min_length=1, max_length=80)
    if bio is not None:
        values["bio"] = validation.text(bio, "bio", min_length=0, max_length=2000)
    if timezone is not None:
        values["timezone"] = validation.timezone(timezone)
    if specialization_ids is not None and len(specialization_ids) > 50:
        raise BadUserInput("At most 50 specializations.", field="specializationIds")
    async with uow.db.transaction() as session:
        if values:
            await session.execute(update(User).where(User.id == actor.id).values(**values))
        if specialization_ids is not None:
            wanted = sorted(set(specialization_ids))
            found = (
                await session.scalars(select(Specialization.id).where(Specialization.id.in_(wanted)))
            ).all()
            if len(found) != len(wanted):
                raise BadUserInput("Unknown specialization.", field="specializationIds")
            await session.execute(delete(UserSpecialization).where(UserSpecialization.user_id == actor.id))
            if wanted:
                await session.execute(
                    insert(UserSpecialization),
                    [{"user_id": actor.id, "specialization_id": s} for s in wanted],
                )
        user = await session.get(User, actor.id, populate_existing=True)
        assert user is not None
    forget(uow.loaders.user, actor.id)
    forget(uow.loaders.user_specialization_ids, actor.id)
    return user


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_terms(search: str | None) -> tuple[str | None, str | None]:
    """(LIKE pattern of the display name, whole email) of a member search: a substring of the
    display name, or the whole email (case-insensitive). Emails never match by substring, so staff
    cannot probe which addresses are registered one fragment at a time (docs/product.md, rule 20)."""
    if not search:
        return None, None
    term = validation.text(search, "search", min_length=1, max_length=254)
    # Emails are stored trimmed and in lower case (CHECK email = lower(email)).
    return f"%{_escape_like(term)}%", term.lower()


def users_statement(*, pattern: Any, email: Any, role: Any, after_id: Any, limit: Any) -> Select[Any]:
    """Members ordered by id, filtered by `search_terms` and role, after the member `after_id`."""
    statement = select(User).order_by(User.id).limit(limit)
    if pattern is not None and email is not None:
        statement = statement.where(or_(User.display_name.ilike(pattern), User.email == email))
    if role is not None:
        statement = statement.where(User.role == role)
    if after_id is not None:
        statement = statement.where(User.id > after_id)
    return statement


async def search_users(
    uow: UnitOfWork, *, search: str | None, role: Role | None, after_id: int | None, limit: int
) -> Sequence[User]:
    """Members ordered by id, optionally filtered by role and by `search` (see `search_terms`)."""
    pattern, email = search_terms(search)
    role_value = role.value if role else None
    statement = users_statement(pattern=pattern, email=email, role=role_value, after_id=after_id, limit=limit)
    return (await uow.db.execute(statement)).scalars().all()


async def ensure_user_exists(uow: UnitOfWork, user_id: int) -> UserRow:
    user = await uow.loaders.user.load(user_id)
    if user is None:
        raise NotFound("No User with this ID.")
    return user
