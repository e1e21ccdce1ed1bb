"""Blocking, log-out-everywhere, password change, platform stats and audit-log time filters."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from db.models import AuditEntry, User
from resolvers.unit_of_work import Services
from tests.helpers import GraphQLClient, Member, db_id

ME = "query { me { id } }"
BLOCK = """mutation($u: ID!, $r: String!, $until: DateTime) {
  blockUser(userId: $u, reason: $r, until: $until) { id isBlocked blockedUntil } }"""
UNBLOCK = "mutation($u: ID!) { unblockUser(userId: $u) { id isBlocked } }"
REFRESH = "mutation($t: String!) { refreshTokens(refreshToken: $t) { accessToken } }"
LOG_IN = """mutation($e: String!, $p: String!) { logIn(input: {email: $e, password: $p}) {
  accessToken refreshToken } }"""
LOG_OUT_ALL = "mutation { logOutAll }"
CHANGE_PASSWORD = """mutation($c: String!, $n: String!, $k: String) {
  changePassword(currentPassword: $c, newPassword: $n, keepRefreshToken: $k) }"""
STATS = """query { platformStats { members blockedMembers pointsInCirculation noShowRate
  interviewsByStatus { status count } } }"""
AUDIT = """query($since: DateTime, $until: DateTime, $action: String) {
  auditLog(since: $since, until: $until, action: $action, first: 100) { edges { node { action } } } }"""


async def promote(db_session: AsyncSession, member: Member, role: str) -> None:
    await db_session.execute(update(User).where(User.id == db_id(member.id)).values(role=role))
    await db_session.flush()


async def test_block_revokes_sessions_and_access_tokens_immediately(
    client: GraphQLClient, db_session: AsyncSession, app_state: Services
) -> None:
    moderator = await client.sign_up("mod")
    await promote(db_session, moderator, "MODERATOR")
    target = await client.sign_up("target")
    channel = f"{app_state.settings.redis_prefix}user:{db_id(target.id)}:control"
    async with app_state.hub.subscribe(channel) as subscription:
        await asyncio.sleep(0.05)
        blocked = await client.data(BLOCK, {"u": target.id, "r": "abuse"}, token=moderator.access_token)
        assert blocked["blockUser"]["isBlocked"] is True
        assert blocked["blockUser"]["blockedUntil"] is None
        event = await asyncio.wait_for(anext(aiter(subscription)), 5)
    assert event == {"kind": "BLOCKED"}
    # The access token minted before the block stops working at once; the refresh token is revoked.
    assert await client.error_code(ME, token=target.access_token) == "FORBIDDEN"
    assert await client.error_code(REFRESH, {"t": target.refresh_token}) == "UNAUTHENTICATED"
    login = {"e": target.email, "p": target.password}
    assert await client.error_code(LOG_IN, login) == "FORBIDDEN"
    audited = await db_session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "user.blocked", AuditEntry.target_id == db_id(target.id))
    )
    assert audited == 1

    await client.data(UNBLOCK, {"u": target.id}, token=moderator.access_token)
    tokens = (await client.data(LOG_IN, login))["logIn"]
    assert (await client.data(ME, token=tokens["accessToken"]))["me"]["id"] == target.id


async def test_temporary_block_expires(client: GraphQLClient, db_session: AsyncSession, clock: Clock) -> None:
    admin = await client.sign_up("admin")
    await promote(db_session, admin, "ADMIN")
    target = await client.sign_up("target")
    until = (clock.now() + timedelta(hours=1)).isoformat()
    result = await client.data(
        BLOCK, {"u": target.id, "r": "cool off", "until": until}, token=admin.access_token
    )
    assert result["blockUser"]["blockedUntil"] is not None
    login = {"e": target.email, "p": target.password}
    assert await client.error_code(LOG_IN, login) == "FORBIDDEN"
    clock.shift(timedelta(hours=1, minutes=1))
    assert (await client.data(LOG_IN, login))["logIn"]["accessToken"]


async def test_block_rules(client: GraphQLClient, db_session: AsyncSession, clock: Clock) -> None:
    moderator = await client.sign_up("mod")
    await promote(db_session, moderator, "MODERATOR")
    admin = await client.sign_up("admin")
    await promote(db_session, admin, "ADMIN")
    member = await client.sign_up("member")
    token = moderator.access_token
    assert await client.error_code(BLOCK, {"u": admin.id, "r": "x"}, token=token) == "FORBIDDEN"
    assert await client.error_code(BLOCK, {"u": moderator.id, "r": "x"}, token=token) == "FORBIDDEN"
    past = (clock.now() - timedelta(minutes=1)).isoformat()
    assert (
        await client.error_code(BLOCK, {"u": member.id, "r": "x", "until": past}, token=token)
        == "BAD_USER_INPUT"
    )
    assert await client.error_code(BLOCK, {"u": member.id, "r": " "}, token=token) == "BAD_USER_INPUT"
    assert await client.error_code(BLOCK, {"u": admin.id, "r": "x"}, token=member.access_token) == "FORBIDDEN"
    assert await client.error_code(BLOCK, {"u": member.id, "r": "x"}) == "UNAUTHENTICATED"
    # An admin may block a moderator.
    await client.data(BLOCK, {"u": moderator.id, "r": "x"}, token=admin.access_token)


async def test_log_out_all_counts_and_revokes(client: GraphQLClient) -> None:
    member = await client.sign_up("many")
    login = {"e": member.email, "p": member.password}
    second = (await client.data(LOG_IN, login))["logIn"]
    assert (await client.data(LOG_OUT_ALL, token=member.access_token))["logOutAll"] == 2
    for refresh in (member.refresh_token, second["refreshToken"]):
        assert await client.error_code(REFRESH, {"t": refresh}) == "UNAUTHENTICATED"
    assert await client.error_code(LOG_OUT_ALL) == "UNAUTHENTICATED"


async def test_change_password(client: GraphQLClient, db_session: AsyncSession) -> None:
    member = await client.sign_up("pw")
    login = {"e": member.email, "p": member.password}
    other = (await client.data(LOG_IN, login))["logIn"]
    wrong = {"c": "not my password", "n": "brand new password"}
    assert await client.error_code(CHANGE_PASSWORD, wrong, token=member.access_token) == "BAD_USER_INPUT"
    short = {"c": member.password, "n": "short"}
    assert await client.error_code(CHANGE_PASSWORD, short, token=member.access_token) == "BAD_USER_INPUT"
    ok = {"c": member.password, "n": "brand new password", "k": member.refresh_token}
    assert (await client.data(CHANGE_PASSWORD, ok, token=member.access_token))["changePassword"]
    assert await client.error_code(REFRESH, {"t": other["refreshToken"]}) == "UNAUTHENTICATED"
    assert (await client.data(REFRESH, {"t": member.refresh_token}))["refreshTokens"]["accessToken"]
    assert await client.error_code(LOG_IN, login) == "UNAUTHENTICATED"
    await client.data(LOG_IN, {"e": member.email, "p": "brand new password"})
    audited = await db_session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "auth.password_changed", AuditEntry.actor_id == db_id(member.id))
    )
    assert audited == 1


async def test_platform_stats_for_admins_only(client: GraphQLClient, db_session: AsyncSession) -> None:
    admin = await client.sign_up("admin")
    member = await client.sign_up("member")
    assert await client.error_code(STATS, token=member.access_token) == "FORBIDDEN"
    await promote(db_session, admin, "ADMIN")
    stats = (await client.data(STATS, token=admin.access_token))["platformStats"]
    members = await db_session.scalar(select(func.count()).select_from(User))
    points = await db_session.scalar(select(func.sum(User.points_balance)))
    assert stats["members"] == members
    assert stats["pointsInCirculation"] == points
    assert {row["status"] for row in stats["interviewsByStatus"]} == {
        "SCHEDULED",
        "IN_PROGRESS",
        "COMPLETED",
        "CANCELLED",
        "NO_SHOW",
    }
    assert 0.0 <= stats["noShowRate"] <= 1.0


async def test_audit_log_time_filters(client: GraphQLClient, db_session: AsyncSession) -> None:
    admin = await client.sign_up("admin")
    await promote(db_session, admin, "ADMIN")
    db_now = await db_session.scalar(select(func.now()))
    assert isinstance(db_now, datetime)
    future = (db_now + timedelta(days=1)).isoformat()
    past = datetime(2000, 1, 1, tzinfo=UTC).isoformat()
    token = admin.access_token
    recent = await client.data(AUDIT, {"since": past, "action": "auth.sign_up"}, token=token)
    assert recent["auditLog"]["edges"]
    none = await client.data(AUDIT, {"since": future}, token=token)
    assert none["auditLog"]["edges"] == []
    old = await client.data(AUDIT, {"until": past}, token=token)
    assert old["auditLog"]["edges"] == []


QUEUE = """query($s: NoShowStatus, $first: Int, $after: String) {
  noShowReports(status: $s, first: $first, after: $after) {
    edges { node { id status reporter { id } accused { id } } } pageInfo { hasNextPage endCursor } } }"""


async def test_moderator_no_show_queue(client: GraphQLClient, db_session: AsyncSession, clock: Clock) -> None:
    from tests.marketplace_support import book, later, new_specialization, publish, travel

    host = await client.sign_up("host")
    candidate = await client.sign_up("cand")
    moderator = await client.sign_up("mod")
    await promote(db_session, moderator, "MODERATOR")
    spec = await new_specialization(db_session)
    slot_id = await publish(client, host, spec, later(clock.now(), hours=1))
    interview = await book(client, candidate, slot_id)
    await travel(client, clock, timedelta(hours=1, minutes=11), host, candidate, moderator)
    report = await client.data(
        'mutation($id: ID!) { reportNoShow(id: $id, reason: "absent") { id } }',
        {"id": interview["id"]},
        token=host.access_token,
    )
    report_id = report["reportNoShow"]["id"]

    assert await client.error_code(QUEUE, token=host.access_token) == "FORBIDDEN"
    queue = (await client.data(QUEUE, {"s": "OPEN"}, token=moderator.access_token))["noShowReports"]
    nodes = [e["node"] for e in queue["edges"]]
    assert report_id in [n["id"] for n in nodes]
    mine = next(n for n in nodes if n["id"] == report_id)
    assert mine["reporter"]["id"] == host.id
    assert mine["accused"]["id"] == candidate.id
    upheld = await client.data(QUEUE, {"s": "UPHELD"}, token=moderator.access_token)
    assert report_id not in [e["node"]["id"] for e in upheld["noShowReports"]["edges"]]
    page = (await client.data(QUEUE, {"first": 0}, token=moderator.access_token))["noShowReports"]
    assert page["edges"] == []


AUDIT_NEWEST = "query { auditLog(first: 1) { edges { node { id action actor { id } } } } }"
AUDIT_NODE = "query($id: ID!) { node(id: $id) { id ... on AuditEntry { action actor { id } } } }"


async def test_an_audit_entry_by_node_id_is_for_admins_only(
    client: GraphQLClient, db_session: AsyncSession
) -> None:
    admin, moderator, member = [await client.sign_up(n) for n in ("admin", "moderator", "member")]
    await promote(db_session, admin, "ADMIN")
    await promote(db_session, moderator, "MODERATOR")
    [edge] = (await client.data(AUDIT_NEWEST, token=admin.access_token))["auditLog"]["edges"]
    entry = edge["node"]
    found = await client.data(AUDIT_NODE, {"id": entry["id"]}, token=admin.access_token)
    assert found["node"] == entry
    for token in (moderator.access_token, member.access_token, None):
        assert (await client.data(AUDIT_NODE, {"id": entry["id"]}, token=token))["node"] is None
