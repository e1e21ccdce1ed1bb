"""Specializations: the catalogue anyone reads and admins extend, rename and archive."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from app.core.enums import Role
from app.core.errors import Conflict, Forbidden, NotFound
from dataloaders import forget
from db.models import Specialization, User
from resolvers import audit, validation
from resolvers.integrity import UNIQUE_VIOLATION, flush_or_conflict
from resolvers.unit_of_work import UnitOfWork

NAME_TAKEN = "A specialization with this name exists."


def specializations_statement(*, include_archived: bool) -> Select[Any]:
    """Specializations by name (case-insensitively), archived ones only when asked for."""
    statement = select(Specialization).order_by(func.lower(Specialization.name), Specialization.id)
    if not include_archived:
        statement = statement.where(Specialization.archived_at.is_(None))
    return statement


async def list_specializations(
    uow: UnitOfWork, *, include_archived: bool = False
) -> Sequence[Specialization]:
    statement = specializations_statement(include_archived=include_archived)
    return (await uow.db.execute(statement)).scalars().all()


async def create_specialization(uow: UnitOfWork, actor: User, name: str) -> Specialization:
    cleaned = validation.text(name, "name", min_length=1, max_length=80)
    async with uow.db.transaction() as session:
        specialization = Specialization(name=cleaned)
        session.add(specialization)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise Conflict(NAME_TAKEN, field="name") from exc
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


async def update_specialization(
    uow: UnitOfWork, actor: User, specialization_id: int, *, name: str | None, archived: bool | None
) -> Specialization:
    """Rename (names stay unique, case-insensitively: CONFLICT) and archive or restore. An archived
    specialization takes no new slots but keeps its slots, interviews and content, and still
    resolves (docs/product.md, rule 5)."""
    if actor.role != Role.ADMIN:
        raise Forbidden("Your role does not allow this.")
    cleaned = validation.text(name, "name", min_length=1, max_length=80) if name is not None else None
    async with uow.db.transaction() as session:
        specialization = await session.get(
            Specialization, specialization_id, with_for_update=True, populate_existing=True
        )
        if specialization is None:
            raise NotFound("No Specialization with this ID.")
        previous = specialization.name
        if cleaned is not None:
            specialization.name = cleaned
        if archived is not None and archived != (specialization.archived_at is not None):
            specialization.archived_at = uow.now() if archived else None
        await flush_or_conflict(session, {UNIQUE_VIOLATION: NAME_TAKEN}, field="name")
        await audit.record(
            session,
            "specialization.updated",
            actor_id=actor.id,
            target_type="Specialization",
            target_id=specialization.id,
            ip=uow.client_ip,
            previous_name=previous,
            name=specialization.name,
            archived=specialization.archived_at is not None,
        )
    forget(uow.loaders.specialization, specialization_id)
    return specialization
