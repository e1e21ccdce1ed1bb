"""There is always an active admin: the last ADMIN who is not blocked can be neither demoted nor
blocked, not through GraphQL, not from the command line, not by two admins at once
(docs/product.md, "Roles")."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.cli.commands import _set_role, cmd_set_role
from app.core.clock import Clock
from app.core.enums import Role
from app.core.errors import Conflict
from db.models import User
from resolvers import moderation
from resolvers.unit_of_work import Services, UnitOfWork
from tests.helpers import GraphQLClient, Member, db_id
from tests.marketplace_support import relog, set_role

SET_ROLE = "mutation($u: ID!, $r: Role!) { setUserRole(userId: $u, role: $r) { id role } }"
BLOCK = "mutation($u: ID!, $r: String!) { blockUser(userId: $u, reason: $r) { id isBlocked } }"
UNBLOCK = "mutation($u: ID!) { unblockUser(userId: $u) { id isBlocked } }"


def _active_admins(clock: Clock) -> Any:
    return (
        select(func.count())
        .select_from(User)
        .where(
            User.role == Role.ADMIN,
            or_(User.blocked_at.is_(None), User.blocked_until <= clock.now()),
        )
    )


async def test_the_last_active_admin_cannot_be_demoted(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    first, second = await client.sign_up("first"), await client.sign_up("second")
    await set_role(db_session, first, "ADMIN")
    for role in ("MEMBER", "MODERATOR"):
        result = await client.execute(SET_ROLE, {"u": first.id, "r": role}, token=first.access_token)
        assert result["errors"][0]["extensions"]["code"] == "CONFLICT"
        assert result["errors"][0]["message"] == "The last active admin cannot be demoted."
    same = await client.data(SET_ROLE, {"u": first.id, "r": "ADMIN"}, token=first.access_token)
    assert same["setUserRole"]["role"] == "ADMIN"  # keeping the role is no demotion

    # With a second admin, either may step down; then the other is the last one.
    await client.data(SET_ROLE, {"u": second.id, "r": "ADMIN"}, token=first.access_token)
    await client.data(SET_ROLE, {"u": first.id, "r": "MEMBER"}, token=first.access_token)
    code = await client.error_code(SET_ROLE, {"u": second.id, "r": "MEMBER"}, token=second.access_token)
    assert code == "CONFLICT"
    assert await db_session.scalar(_active_admins(clock)) == 1


async def test_a_blocked_admin_is_not_an_active_admin(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    first, second = await client.sign_up("first"), await client.sign_up("second")
    await set_role(db_session, first, "ADMIN")
    await set_role(db_session, second, "ADMIN")
    await client.data(BLOCK, {"u": second.id, "r": "compromised"}, token=first.access_token)
    # `first` is the last active admin now; the blocked one may be demoted.
    code = await client.error_code(SET_ROLE, {"u": first.id, "r": "MEMBER"}, token=first.access_token)
    assert code == "CONFLICT"
    demoted = await client.data(SET_ROLE, {"u": second.id, "r": "MEMBER"}, token=first.access_token)
    assert demoted["setUserRole"]["role"] == "MEMBER"
    # A temporary block that has ended counts as active again.
    await set_role(db_session, second, "ADMIN")
    ended = clock.now() - timedelta(minutes=1)
    await db_session.execute(update(User).where(User.id == db_id(second.id)).values(blocked_until=ended))
    await db_session.flush()
    stepped_down = await client.data(SET_ROLE, {"u": first.id, "r": "MEMBER"}, token=first.access_token)
    assert stepped_down["setUserRole"]["role"] == "MEMBER"


async def test_the_last_active_admin_cannot_be_blocked_by_a_request_still_in_flight(
    client: GraphQLClient, db_session: AsyncSession, app_state: Services
) -> None:
    """An admin whose request was authenticated before they were demoted cannot block the last one
    (through GraphQL an admin can only block another admin while both are active)."""
    first, second = await client.sign_up("first"), await client.sign_up("second")
    await set_role(db_session, second, "ADMIN")
    stale_viewer = User(id=db_id(first.id), role=Role.ADMIN, email=first.email, display_name="First")
    uow = UnitOfWork.open(app_state)
    try:
        with pytest.raises(Conflict, match="last active admin cannot be blocked"):
            await moderation.block_user(uow, stale_viewer, db_id(second.id), "hostile takeover", None)
        with pytest.raises(Conflict, match="last active admin cannot be demoted"):
            await moderation.set_role(uow, stale_viewer, db_id(second.id), Role.MODERATOR)
        with pytest.raises(Conflict):  # the command line too
            await moderation.set_role(uow, None, db_id(second.id), Role.MEMBER)
    finally:
        await uow.close()
    row = await db_session.get(User, db_id(second.id), populate_existing=True)
    assert row is not None
    assert (row.role, row.blocked_at) == (Role.ADMIN, None)


async def _make_admins(engine: AsyncEngine, *members: Member) -> None:
    async with AsyncSession(engine) as session:
        ids = [db_id(m.id) for m in members]
        await session.execute(update(User).where(User.id.in_(ids)).values(role=Role.ADMIN))
        await session.commit()


async def test_set_role_command_keeps_the_last_admin(
    committing_client: GraphQLClient,
    engine: AsyncEngine,
    app_state: Services,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    only, other = await committing_client.sign_up("only"), await committing_client.sign_up("other")
    await _make_admins(engine, only)
    settings = app_state.settings
    with pytest.raises(Conflict, match="last active admin cannot be demoted"):
        await _set_role(settings, database_url, only.email, Role.MEMBER)
    # `mockinterview set-role` says so and exits with status 1 (it runs its own event loop).
    args = argparse.Namespace(email=only.email, role="member")
    assert await asyncio.to_thread(cmd_set_role, args, settings) == 1
    assert "The last active admin cannot be demoted." in capsys.readouterr().err
    assert await _set_role(settings, database_url, other.email, Role.ADMIN)
    assert await _set_role(settings, database_url, only.email, Role.MEMBER)
    async with AsyncSession(engine) as session:
        roles = dict((await session.execute(select(User.email, User.role))).all())
    assert roles == {only.email: Role.MEMBER, other.email: Role.ADMIN}


def _codes(results: list[dict[str, Any]]) -> list[str | None]:
    return [r["errors"][0]["extensions"]["code"] if r.get("errors") else None for r in results]


async def test_two_admins_demoting_or_blocking_each_other_at_once_leave_one(
    committing_client: GraphQLClient, engine: AsyncEngine, clock: Clock
) -> None:
    """Real concurrent requests: without the admin rows locked in one order, both would see the other
    still active and both changes would commit."""
    client = committing_client
    first, second = await client.sign_up("first"), await client.sign_up("second")
    await _make_admins(engine, first, second)

    def change(kind: str, actor: Member, target: Member) -> Any:
        if kind == "demote":
            return client.execute(SET_ROLE, {"u": target.id, "r": "MEMBER"}, token=actor.access_token)
        return client.execute(BLOCK, {"u": target.id, "r": "race"}, token=actor.access_token)

    for kinds in [("demote", "demote"), ("block", "block"), ("demote", "block"), ("block", "demote")] * 2:
        results = list(await asyncio.gather(change(kinds[0], first, second), change(kinds[1], second, first)))
        outcome = _codes(results)
        assert outcome.count(None) == 1, (kinds, results)
        # The loser is refused as the last admin, or, when the winner committed before the loser's
        # request was authenticated, as no longer an (unblocked) admin.
        assert {code for code in outcome if code} <= {"CONFLICT", "FORBIDDEN"}, (kinds, results)
        async with AsyncSession(engine) as session:
            assert await session.scalar(_active_admins(clock)) == 1, (kinds, results)
        # The winner restores the other one for the next round.
        winner, loser = (first, second) if outcome[0] is None else (second, first)
        await client.data(UNBLOCK, {"u": loser.id}, token=winner.access_token)
        await client.data(SET_ROLE, {"u": loser.id, "r": "ADMIN"}, token=winner.access_token)
        await relog(client, loser)
