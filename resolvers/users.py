"""Member directory, roles, specializations and the audit log (staff operations)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from app.core.errors import BadUserInput, Conflict, NotFound
from dataloaders import forget
from db.models import AuditEntry, Specialization, User
from resolvers import audit, validation
from resolvers.unit_of_work import UnitOfWork


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_users(
    uow: UnitOfWork, *, search: str | None, role: str | None, after_id: int | None, limit: int
) -> Sequence[User]:
    """Members ordered by id, optionally filtered by a name/email substring and role."""
    statement = select(User).order_by(User.id).limit(limit)
    if search:
        term = validation.text(search, "search", min_length=1, max_length=100)
        pattern = f"%{_escape_like(term)}%"
        statement = statement.where(or_(User.display_name.ilike(pattern), User.email.ilike(pattern)))
    if role:
        statement = statement.where(User.role == role)
    if after_id is not None:
        statement = statement.where(User.id > after_id)
    return (await uow.db.execute(statement)).scalars().all()


async def set_role(uow: UnitOfWork, actor: User, user_id: int, role: str) -> User:
    async with uow.db.transaction() as session:
        user = await session.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound("No User with this ID.")
        previous = user.role
        user.role = role
        await audit.record(
            session,
            "user.role_changed",
            actor_id=actor.id,
            target_type="User",
            target_id=user.id,
            ip=uow.client_ip,
            previous=previous,
            role=role,
        )
    forget(uow.loaders.user, user_id)
    return user


async def list_specializations(uow: UnitOfWork) -> Sequence[Specialization]:
    statement = select(Specialization).order_by(func.lower(Specialization.name))
    return (await uow.db.execute(statement)).scalars().all()


async def create_specialization(uow: UnitOfWork, actor: User, name: str) -> Specialization:
    cleaned = validation.text(name, "name", min_length=1, max_length=80)
    async with uow.db.transaction() as session:
        specialization = Specialization(name=cleaned)
        session.add(specialization)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise Conflict("A specialization with this name exists.", field="name") from exc
        await audit.record(
            session,
            "specialization.created",
            actor_id=actor.id,
            target_type="Specialization",
            target_id=specialization.id,
            ip=uow.client_ip,
            name=cleaned,
        )
    return specialization


async def audit_entries(
    uow: UnitOfWork,
    *,
    after_id: int | None,
    limit: int,
    action: str | None = None,
    actor_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[AuditEntry]:
    """Newest first; `since` inclusive, `until` exclusive."""
    statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if after_id is not None:
        statement = statement.where(AuditEntry.id < after_id)
    if action:
        statement = statement.where(AuditEntry.action == action)
    if actor_id is not None:
        statement = statement.where(AuditEntry.actor_id == actor_id)
    if since is not None:
        statement = statement.where(AuditEntry.created_at >= since)
    if until is not None:
        statement = statement.where(AuditEntry.created_at < until)
    return (await uow.db.execute(statement)).scalars().all()


async def ensure_user_exists(uow: UnitOfWork, user_id: int) -> User:
    user = await uow.loaders.user.load(user_id)
    if user is None:
        raise NotFound("No User with this ID.")
    return user


def role_value(role: object) -> str:
    value = getattr(role, "value", role)
    if value not in ("MEMBER", "MODERATOR", "ADMIN"):
        raise BadUserInput("Unknown role.", field="role")
    return str(value)
