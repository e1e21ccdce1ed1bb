"""Revocation takes effect at once (docs/trust.md, "Revocation"): after logOut, logOutAll,
changePassword, refresh-token reuse, a block or a role change, the old credentials fail on the next
request to ANOTHER instance (within 1 s), although that instance had just cached the session as live."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import pytest
from sqlalchemy import event

from app.core.tokens import AccessTokens
from db.session import Db
from tests.helpers import GraphQLClient, Member
from tests.two_instances import ME, Instance, Instances, refused, two_instances, within

LOG_IN = """mutation($e: String!, $p: String!) { logIn(input: {email: $e, password: $p}) {
  accessToken refreshToken } }"""
REFRESH = "mutation($t: String!) { refreshTokens(refreshToken: $t) { accessToken refreshToken } }"
LOG_OUT = "mutation($t: String!) { logOut(refreshToken: $t) }"
LOG_OUT_ALL = "mutation { logOutAll }"
CHANGE_PASSWORD = (
    """mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }"""
)
CREATE_KEY = """mutation { createApiKey(name: "ci", scope: READ_WRITE) { secret } }"""
BLOCK = 'mutation($u: ID!) { blockUser(userId: $u, reason: "abuse") { id } }'
SET_ROLE = "mutation($u: ID!, $r: Role!) { setUserRole(userId: $u, role: $r) { id role } }"
USERS = "query { users(first: 1) { edges { node { id } } } }"  # moderators and admins only


@pytest.fixture(scope="module")
async def instances(postgres_server: str, redis_url: str) -> AsyncIterator[Instances]:
    async with two_instances(postgres_server, redis_url) as pair:
        yield pair


def session_of(services: Any, token: str) -> tuple[uuid.UUID, int]:
    tokens: AccessTokens = services.tokens
    claims = tokens.verify(token, services.clock.now())
    return claims.session_id, claims.user_id


async def works_on(instance: Instance, token: str) -> None:
    """`me` answers on `instance`, which now holds the session as live in its cache."""
    assert (await instance.http.data(ME, token=token))["me"] is not None
    session_id, user_id = session_of(instance.services, token)
    assert instance.services.session_cache.is_live(session_id, user_id)


async def second_session(http: GraphQLClient, member: Member) -> dict[str, str]:
    tokens: dict[str, str] = (await http.data(LOG_IN, {"e": member.email, "p": member.password}))["logIn"]
    return tokens


async def api_key(http: GraphQLClient, member: Member) -> str:
    secret: str = (await http.data(CREATE_KEY, token=member.access_token))["createApiKey"]["secret"]
    return secret


async def test_log_out_ends_that_session_everywhere(instances: Instances) -> None:
    a, b = instances.a, instances.b
    member = await a.http.sign_up("leaver")
    other = await second_session(a.http, member)
    for token in (member.access_token, other["accessToken"]):
        await works_on(b, token)
    assert (await a.http.data(LOG_OUT, {"t": member.refresh_token}))["logOut"] is True
    assert await refused(a.http, member.access_token)  # the instance that logged out: at once
    await within(1.0, lambda: refused(b.http, member.access_token))
    await works_on(b, other["accessToken"])  # the member's other session is untouched


async def test_log_out_all_ends_every_session_and_api_key(instances: Instances) -> None:
    a, b = instances.a, instances.b
    member = await a.http.sign_up("everywhere")
    other = await second_session(a.http, member)
    key = await api_key(a.http, member)
    for token in (member.access_token, other["accessToken"]):
        await works_on(b, token)
    assert (await b.http.data(ME, token=key))["me"]["id"] == member.id
    assert (await a.http.data(LOG_OUT_ALL, token=member.access_token))["logOutAll"] == 2
    for token in (member.access_token, other["accessToken"], key):
        await within(1.0, partial(refused, b.http, token))
        assert await refused(a.http, token)
    assert await a.http.error_code(REFRESH, {"t": other["refreshToken"]}) == "UNAUTHENTICATED"


async def test_change_password_ends_other_sessions_and_api_keys(instances: Instances) -> None:
    a, b = instances.a, instances.b
    member = await a.http.sign_up("rotator")
    other = await second_session(a.http, member)
    key = await api_key(a.http, member)
    for token in (member.access_token, other["accessToken"]):
        await works_on(b, token)
    changed = {"c": member.password, "n": "a brand new password"}
    assert (await a.http.data(CHANGE_PASSWORD, changed, token=member.access_token))["changePassword"]
    await within(1.0, lambda: refused(b.http, other["accessToken"]))
    assert await refused(b.http, key)
    assert await refused(a.http, other["accessToken"])
    # The caller's own session goes on (its access token names it): no keepRefreshToken needed.
    await works_on(b, member.access_token)
    assert (await a.http.data(REFRESH, {"t": member.refresh_token}))["refreshTokens"]["accessToken"]
    assert await a.http.error_code(REFRESH, {"t": other["refreshToken"]}) == "UNAUTHENTICATED"


async def test_refresh_token_reuse_ends_the_family_and_its_access_tokens(instances: Instances) -> None:
    a, b = instances.a, instances.b
    member = await a.http.sign_up("stolen")
    rotated = (await a.http.data(REFRESH, {"t": member.refresh_token}))["refreshTokens"]
    assert session_of(a.services, rotated["accessToken"])[0] == session_of(a.services, member.access_token)[0]
    for token in (member.access_token, rotated["accessToken"]):
        await works_on(b, token)
    # The spent token again: a thief (or the victim) replays it; the whole family dies, at once.
    assert await a.http.error_code(REFRESH, {"t": member.refresh_token}) == "UNAUTHENTICATED"
    for token in (rotated["accessToken"], member.access_token):
        await within(1.0, partial(refused, b.http, token))
    assert await a.http.error_code(REFRESH, {"t": rotated["refreshToken"]}) == "UNAUTHENTICATED"


async def test_block_refuses_the_old_token_everywhere(instances: Instances) -> None:
    a, b = instances.a, instances.b
    moderator, member = await a.http.sign_up("mod"), await a.http.sign_up("troll")
    await instances.set_role(moderator, "MODERATOR")
    await works_on(b, member.access_token)
    await a.http.data(BLOCK, {"u": member.id}, token=moderator.access_token)
    await within(1.0, lambda: refused(b.http, member.access_token, "FORBIDDEN"))


async def test_role_change_applies_to_the_next_request_everywhere(instances: Instances) -> None:
    a, b = instances.a, instances.b
    admin, moderator = await a.http.sign_up("admin"), await a.http.sign_up("mod")
    await instances.set_role(admin, "ADMIN")
    await instances.set_role(moderator, "MODERATOR")
    await works_on(b, moderator.access_token)
    assert (await b.http.data(USERS, token=moderator.access_token))["users"]["edges"]
    await a.http.data(SET_ROLE, {"u": moderator.id, "r": "MEMBER"}, token=admin.access_token)
    await within(1.0, lambda: refused(b.http, moderator.access_token, "FORBIDDEN", USERS))
    assert (await b.http.data(ME, token=moderator.access_token))["me"]["role"] == "MEMBER"


@contextmanager
def statements(instance: Instance, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement `instance` sends (ORM and raw asyncpg) while the block runs."""
    sent: list[str] = []
    original = Db.fetch_raw

    async def counted(self: Db, sql: str, *params: Any) -> list[Any]:
        sent.append(sql)
        return await original(self, sql, *params)

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    monkeypatch.setattr(Db, "fetch_raw", counted)
    event.listen(instance.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(instance.engine.sync_engine, "before_cursor_execute", record)
        monkeypatch.setattr(Db, "fetch_raw", original)


async def test_the_session_check_costs_no_extra_statement(
    instances: Instances, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = instances.b
    member = await b.http.sign_up("counted")
    session_id, user_id = session_of(b.services, member.access_token)
    cache = b.services.session_cache
    cache.forget_member(user_id)
    with statements(b, monkeypatch) as miss:
        await b.http.data(ME, token=member.access_token)
    with statements(b, monkeypatch) as hit:
        await b.http.data(ME, token=member.access_token)
    # A miss checks the session inside the viewer lookup; a hit sends only the viewer lookup.
    assert len(miss) == len(hit) == 1, (miss, hit)
    assert "refresh_tokens" in miss[0]
    assert "refresh_tokens" not in hit[0]
    assert cache.is_live(session_id, user_id)
    # A revoked session costs the same one statement (revocations are not cached).
    await b.http.data(LOG_OUT, {"t": member.refresh_token})
    for _ in range(2):
        with statements(b, monkeypatch) as revoked:
            assert await refused(b.http, member.access_token)
        assert len(revoked) == 1, revoked
    assert not cache.is_live(session_id, user_id)
