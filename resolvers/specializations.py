"""Specializations: the catalogue anyone reads and admins extend."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.core.errors import Conflict
from db.models import Specialization, User
from resolvers import audit, validation
from resolvers.unit_of_work import UnitOfWork


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
