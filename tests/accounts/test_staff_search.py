"""Staff search matches a part of a display name but only a whole email, case-insensitively, so a
moderator cannot probe which addresses are registered by fragments (docs/product.md, rule 20)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tests.helpers import GraphQLClient
from tests.marketplace_support import set_role

USERS = """query($s: String, $role: Role) { users(search: $s, role: $role, first: 100) {
  edges { node { id displayName } } } }"""


async def test_search_matches_name_parts_but_only_whole_emails(
    client: GraphQLClient, db_session: AsyncSession
) -> None:
    moderator = await client.sign_up("warden")
    await set_role(db_session, moderator, "MODERATOR")
    alice = await client.sign_up("alice")  # display name "Alice", email "alice-<n>-<id>@example.com"
    await client.sign_up("bob")

    async def found(search: str) -> list[str]:
        data = await client.data(USERS, {"s": search}, token=moderator.access_token)
        return [e["node"]["id"] for e in data["users"]["edges"]]

    for name_part in ("lic", "ALI", "Alice"):
        assert await found(name_part) == [alice.id]
    local_part = alice.email.split("@")[0]
    for fragment in ("example.com", "@example", local_part, alice.email[:-1], alice.email[1:]):
        assert await found(fragment) == [], fragment  # no substring of an email matches
    for whole in (alice.email, alice.email.upper(), f"  {alice.email.title()} "):
        assert await found(whole) == [alice.id], whole
    data = await client.data(USERS, {"s": alice.email, "role": "MODERATOR"}, token=moderator.access_token)
    assert data["users"]["edges"] == []  # the role filter still applies


async def test_search_is_for_staff_only(client: GraphQLClient) -> None:
    member = await client.sign_up("member")
    code = await client.error_code(USERS, {"s": member.email}, token=member.access_token)
    assert code == "FORBIDDEN"
