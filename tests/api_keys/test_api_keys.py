"""API keys: shown once, stored hashed, scoped, and unable to manage keys or the password."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from db.models import ApiKey
from tests.helpers import GraphQLClient, db_id
from tests.moderation.test_moderation import BLOCK, promote

CREATE = """mutation($n: String!, $s: ApiKeyScope!) {
  createApiKey(name: $n, scope: $s) { secret apiKey { id name prefix scope lastUsedAt revokedAt } } }"""
LIST = "query { apiKeys { edges { node { id name prefix scope lastUsedAt revokedAt } } } }"
REVOKE = "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }"
ME = "query { me { id } }"
UPDATE = 'mutation { updateProfile(input: {bio: "via key"}) { bio } }'
CHANGE_PASSWORD = 'mutation { changePassword(currentPassword: "x", newPassword: "yyyyyyyyyy") }'


async def _create(client: GraphQLClient, token: str, scope: str = "READ_WRITE") -> dict[str, Any]:
    data = await client.data(CREATE, {"n": "ci", "s": scope}, token=token)
    created: dict[str, Any] = data["createApiKey"]
    return created


async def test_key_is_shown_once_and_stored_hashed(client: GraphQLClient, db_session: AsyncSession) -> None:
    member = await client.sign_up("keys")
    created = await _create(client, member.access_token)
    secret = created["secret"]
    assert secret.startswith("mik_")
    assert len(secret) > 40
    key = created["apiKey"]
    assert secret.startswith(key["prefix"])
    row = await db_session.scalar(select(ApiKey).where(ApiKey.id == db_id(key["id"])))
    assert row is not None
    assert secret not in (row.key_hash, row.prefix)
    listed = (await client.data(LIST, token=member.access_token))["apiKeys"]["edges"]
    assert [e["node"]["id"] for e in listed] == [key["id"]]
    assert "secret" not in listed[0]["node"]


async def test_key_authenticates_both_headers_and_records_last_use(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    member = await client.sign_up("keys")
    secret = (await _create(client, member.access_token))["secret"]
    assert (await client.data(ME, token=secret))["me"]["id"] == member.id
    response = await client.http.post("/graphql", json={"query": ME}, headers={"X-API-Key": secret})
    assert response.json()["data"]["me"]["id"] == member.id
    row = await db_session.scalar(select(ApiKey).where(ApiKey.prefix == secret[:12]))
    assert row is not None
    assert row.last_used_at is not None
    first_use = row.last_used_at
    await client.data(ME, token=secret)
    await db_session.refresh(row)
    assert row.last_used_at == first_use  # at most once a minute
    clock.shift(timedelta(minutes=2))
    await client.data(ME, token=secret)
    await db_session.refresh(row)
    assert row.last_used_at is not None
    assert row.last_used_at > first_use
    assert (await client.data(UPDATE, token=secret))["updateProfile"]["bio"] == "via key"


async def test_read_key_cannot_mutate(client: GraphQLClient) -> None:
    member = await client.sign_up("keys")
    secret = (await _create(client, member.access_token, "READ"))["secret"]
    assert (await client.data(ME, token=secret))["me"]["id"] == member.id
    assert await client.error_code(UPDATE, token=secret) == "FORBIDDEN"


async def test_keys_cannot_manage_keys_or_password(client: GraphQLClient) -> None:
    member = await client.sign_up("keys")
    created = await _create(client, member.access_token)
    secret = created["secret"]
    key_id = created["apiKey"]["id"]
    assert await client.error_code(CREATE, {"n": "x", "s": "READ"}, token=secret) == "FORBIDDEN"
    assert await client.error_code(LIST, token=secret) == "FORBIDDEN"
    assert await client.error_code(REVOKE, {"id": key_id}, token=secret) == "FORBIDDEN"
    assert await client.error_code(CHANGE_PASSWORD, token=secret) == "FORBIDDEN"
    assert await client.error_code("mutation { logOutAll }", token=secret) == "FORBIDDEN"
    node = await client.data("query($id: ID!) { node(id: $id) { id } }", {"id": key_id}, token=secret)
    assert node["node"] is None


async def test_revoked_and_unknown_keys_are_refused(client: GraphQLClient) -> None:
    member = await client.sign_up("keys")
    other = await client.sign_up("other")
    created = await _create(client, member.access_token)
    key_id = created["apiKey"]["id"]
    assert await client.error_code(REVOKE, {"id": key_id}, token=other.access_token) == "NOT_FOUND"
    revoked = await client.data(REVOKE, {"id": key_id}, token=member.access_token)
    assert revoked["revokeApiKey"]["revokedAt"] is not None
    assert await client.error_code(ME, token=created["secret"]) == "UNAUTHENTICATED"
    assert await client.error_code(ME, token="mik_" + "A" * 43) == "UNAUTHENTICATED"


async def test_blocked_owner_key_stops_working(client: GraphQLClient, db_session: AsyncSession) -> None:
    member = await client.sign_up("keys")
    secret = (await _create(client, member.access_token))["secret"]
    moderator = await client.sign_up("mod")
    await promote(db_session, moderator, "MODERATOR")
    await client.data(BLOCK, {"u": member.id, "r": "spam"}, token=moderator.access_token)
    assert await client.error_code(ME, token=secret) == "FORBIDDEN"
