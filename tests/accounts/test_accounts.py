"""Sign up, log in, tokens, profile and privacy of member fields."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from db.models import AuditEntry
from tests.helpers import GraphQLClient, db_id

ME = "query { me { id email displayName points role timezone bio } }"
LOG_IN = """
mutation($email: String!, $password: String!) {
  logIn(input: {email: $email, password: $password}) { accessToken refreshToken user { id } }
}
"""
REFRESH = "mutation($t: String!) { refreshTokens(refreshToken: $t) { accessToken refreshToken } }"
LOG_OUT = "mutation($t: String!) { logOut(refreshToken: $t) }"


async def test_round_trip_sign_up_log_in_me_refresh_log_out(client: GraphQLClient) -> None:
    member = await client.sign_up("alice")
    me = (await client.data(ME, token=member.access_token))["me"]
    assert me["email"] == member.email
    assert me["points"] == 1
    assert me["role"] == "MEMBER"

    logged_in = await client.data(LOG_IN, {"email": member.email, "password": member.password})
    tokens = logged_in["logIn"]
    assert tokens["user"]["id"] == member.id

    refreshed = (await client.data(REFRESH, {"t": tokens["refreshToken"]}))["refreshTokens"]
    assert refreshed["refreshToken"] != tokens["refreshToken"]
    assert (await client.data(ME, token=refreshed["accessToken"]))["me"]["id"] == member.id

    assert (await client.data(LOG_OUT, {"t": refreshed["refreshToken"]}))["logOut"] is True
    assert await client.error_code(REFRESH, {"t": refreshed["refreshToken"]}) == "UNAUTHENTICATED"


async def test_anonymous_me_is_null(client: GraphQLClient) -> None:
    assert (await client.data(ME))["me"] is None


async def test_failed_login_is_identical_for_unknown_email_and_wrong_password(
    client: GraphQLClient,
) -> None:
    member = await client.sign_up("bob")
    wrong = await client.execute(LOG_IN, {"email": member.email, "password": "wrong password!"})
    unknown = await client.execute(LOG_IN, {"email": "nobody@example.com", "password": "x" * 12})
    assert wrong["errors"][0]["message"] == unknown["errors"][0]["message"]
    assert wrong["errors"][0]["extensions"] == unknown["errors"][0]["extensions"]
    assert wrong["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_duplicate_email_is_a_conflict(client: GraphQLClient) -> None:
    member = await client.sign_up("carol")
    query = """mutation($e: String!) { signUp(input: {email: $e, password: "long enough pw",
      displayName: "Again"}) { accessToken } }"""
    assert await client.error_code(query, {"e": member.email.upper()}) == "CONFLICT"


async def test_sign_up_validates_input(client: GraphQLClient) -> None:
    query = """mutation($e: String!, $p: String!, $n: String!) {
      signUp(input: {email: $e, password: $p, displayName: $n}) { accessToken } }"""
    cases = [
        {"e": "not-an-email", "p": "long enough pw", "n": "Name"},
        {"e": "a@example.com", "p": "short", "n": "Name"},
        {"e": "a@example.com", "p": "x" * 257, "n": "Name"},
        {"e": "a@example.com", "p": "long enough pw", "n": ""},
        {"e": "a@example.com", "p": "long enough pw", "n": "n" * 81},
    ]
    for variables in cases:
        assert await client.error_code(query, variables) == "BAD_USER_INPUT", variables


async def test_refresh_token_reuse_revokes_the_family(client: GraphQLClient) -> None:
    member = await client.sign_up("dave")
    first = (await client.data(REFRESH, {"t": member.refresh_token}))["refreshTokens"]
    # Presenting the already-rotated token again is a theft signal: the whole family dies.
    assert await client.error_code(REFRESH, {"t": member.refresh_token}) == "UNAUTHENTICATED"
    assert await client.error_code(REFRESH, {"t": first["refreshToken"]}) == "UNAUTHENTICATED"


async def test_refresh_token_is_not_an_access_token(client: GraphQLClient) -> None:
    member = await client.sign_up("erin")
    assert await client.error_code(ME, token=member.refresh_token) == "UNAUTHENTICATED"


async def test_access_token_is_not_a_refresh_token(client: GraphQLClient) -> None:
    member = await client.sign_up("erin")
    assert await client.error_code(REFRESH, {"t": member.access_token}) == "UNAUTHENTICATED"


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_forged_and_none_alg_tokens_are_refused(client: GraphQLClient) -> None:
    member = await client.sign_up("frank")
    header, payload, signature = member.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "1"
    forged = f"{header}.{_b64(claims)}.{signature}"
    none_alg = f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{_b64(claims)}."
    for token in (forged, none_alg, "garbage", "a.b.c"):
        assert await client.error_code(ME, token=token) == "UNAUTHENTICATED", token
    response = await client.http.post("/graphql", json={"query": ME}, headers={"Authorization": "Basic abc"})
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_expired_access_token_is_refused(client: GraphQLClient, clock: Clock) -> None:
    member = await client.sign_up("gina")
    clock.shift(timedelta(hours=1))
    assert await client.error_code(ME, token=member.access_token) == "UNAUTHENTICATED"


async def test_update_profile(client: GraphQLClient) -> None:
    member = await client.sign_up("hank")
    query = """mutation($input: UpdateProfileInput!) {
      updateProfile(input: $input) { displayName bio timezone specializations { name } } }"""
    data = await client.data(
        query,
        {"input": {"displayName": "Hank H.", "bio": "Backend", "timezone": "Europe/Berlin"}},
        token=member.access_token,
    )
    assert data["updateProfile"] == {
        "displayName": "Hank H.",
        "bio": "Backend",
        "timezone": "Europe/Berlin",
        "specializations": [],
    }
    for bad in ({"timezone": "Mars/Olympus"}, {"displayName": "x" * 81}, {"bio": "b" * 2001}):
        assert await client.error_code(query, {"input": bad}, token=member.access_token) == ("BAD_USER_INPUT")
    assert await client.error_code(query, {"input": {"bio": "x"}}) == "UNAUTHENTICATED"


async def test_email_and_points_are_private(client: GraphQLClient) -> None:
    alice = await client.sign_up("alice")
    bob = await client.sign_up("bob")
    query = "query($id: ID!) { user(id: $id) { id displayName email points } }"
    seen_by_bob = (await client.data(query, {"id": alice.id}, token=bob.access_token))["user"]
    assert seen_by_bob["email"] is None
    assert seen_by_bob["points"] is None
    seen_by_self = (await client.data(query, {"id": alice.id}, token=alice.access_token))["user"]
    assert seen_by_self["email"] == alice.email


async def test_node_query_resolves_users(client: GraphQLClient) -> None:
    alice = await client.sign_up("alice")
    query = "query($id: ID!) { node(id: $id) { id ... on User { displayName } } }"
    assert (await client.data(query, {"id": alice.id}))["node"]["displayName"] == "Alice"
    assert await client.error_code(query, {"id": "not-base64!"}) == "BAD_USER_INPUT"


async def test_sign_up_is_audited_and_grants_points(client: GraphQLClient, db_session: AsyncSession) -> None:
    member = await client.sign_up("ivy")
    user_id = db_id(member.id)
    audited = await db_session.scalar(
        select(func.count()).where(AuditEntry.action == "auth.sign_up", AuditEntry.actor_id == user_id)
    )
    assert audited == 1
    ledger_sum = await db_session.scalar(
        text("SELECT sum(amount) FROM points_ledger WHERE user_id = :u"), {"u": user_id}
    )
    assert ledger_sum == 1


async def test_concurrent_refresh_with_one_token_cannot_both_succeed(
    committing_client: GraphQLClient,
) -> None:
    member = await committing_client.sign_up("judy")
    results = await asyncio.gather(
        *(committing_client.execute(REFRESH, {"t": member.refresh_token}) for _ in range(5))
    )
    successes = [r for r in results if not r.get("errors")]
    assert len(successes) <= 1


async def test_weak_hash_is_upgraded_on_login(client: GraphQLClient, db_session: AsyncSession) -> None:
    from argon2 import PasswordHasher

    member = await client.sign_up("kim")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(member.password)
    await db_session.execute(
        text("UPDATE users SET password_hash = :h WHERE id = :id"), {"h": weak, "id": db_id(member.id)}
    )
    await db_session.commit()
    await client.data(LOG_IN, {"email": member.email, "password": member.password})
    upgraded = await db_session.scalar(
        text("SELECT password_hash FROM users WHERE id = :id"), {"id": db_id(member.id)}
    )
    assert upgraded != weak
    assert upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
