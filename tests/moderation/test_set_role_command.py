"""The command line calls the same domain operations as GraphQL (`set-role` → `moderation.set_role`)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.cli.commands import _set_role
from app.core.enums import Role
from app.core.errors import Forbidden
from db.models import AuditEntry, User
from resolvers import moderation
from resolvers.unit_of_work import Services, UnitOfWork
from tests.helpers import GraphQLClient, db_id


async def test_set_role_command_changes_the_role_and_audits_it_as_the_command_line(
    committing_client: GraphQLClient, engine: AsyncEngine, app_state: Services, database_url: str
) -> None:
    member = await committing_client.sign_up("promoted")
    settings = app_state.settings
    assert await _set_role(settings, database_url, f"  {member.email.upper()} ", Role.MODERATOR)
    assert not await _set_role(settings, database_url, "nobody@example.com", Role.ADMIN)
    async with engine.connect() as conn:
        role = (await conn.execute(select(User.role).where(User.id == db_id(member.id)))).scalar_one()
        entry = (
            await conn.execute(
                select(AuditEntry.actor_id, AuditEntry.target_id, AuditEntry.details).where(
                    AuditEntry.action == "user.role_changed"
                )
            )
        ).one()
    assert role == Role.MODERATOR
    assert tuple(entry) == (None, db_id(member.id), {"previous": "MEMBER", "role": "MODERATOR", "via": "cli"})


async def test_set_role_refuses_members_who_are_not_admins(
    client: GraphQLClient, db_session: AsyncSession, app_state: Services
) -> None:
    moderator, target = await client.sign_up("mod"), await client.sign_up("target")
    uow = UnitOfWork.open(app_state)
    try:
        actor = await uow.db.session.get(User, db_id(moderator.id))
        assert actor is not None
        actor.role = Role.MODERATOR
        with pytest.raises(Forbidden):
            await moderation.set_role(uow, actor, db_id(target.id), Role.ADMIN)
        actor.role = Role.ADMIN
        changed = await moderation.set_role(uow, actor, db_id(target.id), Role.MODERATOR)
        assert changed.role == Role.MODERATOR
    finally:
        await uow.close()
