"""Whole queries answered from their compiled root fields (schema/compiled/operations.py): the same
response as the ordinary path, and the ordinary path for everything it must not answer itself."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.unit_of_work import Services
from schema.compiled.operations import OperationReads
from tests.execution.test_compiled_reads import both_paths
from tests.helpers import GraphQLClient
from tests.marketplace_support import book, new_specialization, publish, set_role, tomorrow
from tests.moderation.test_moderation import BLOCK

MINE = """query Mine($first: Int, $status: [InterviewStatus!]) {
  myInterviews(first: $first, status: $status) { edges { cursor node { id status
    interviewer { displayName } messages(last: 2) { edges { node { body } } } } } pageInfo { hasNextPage } }
  me { displayName points pointsLedger(first: 1) { edges { node { amount } } } }
  __typename
}"""


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each request was answered by the operation-level path (observes; changes nothing)."""
    seen: list[bool] = []
    original = OperationReads.answer

    async def observed(self: OperationReads, *args: Any) -> dict[str, Any] | None:
        data = await original(self, *args)
        seen.append(data is not None)
        return data

    monkeypatch.setattr(OperationReads, "answer", observed)
    return seen


async def test_a_learned_query_is_answered_alike_and_refusals_take_the_ordinary_path(
    client: GraphQLClient, db_session: Any, clock: Any, answered: list[bool]
) -> None:
    host, candidate = await client.sign_up("host"), await client.sign_up("cand")
    spec = await new_specialization(db_session)
    await book(client, candidate, await publish(client, host, spec, tomorrow(clock)))
    variables = {"first": 5, "status": ["SCHEDULED"]}
    first = await client.execute(MINE, variables, token=candidate.access_token)
    second = await client.execute(MINE, variables, token=candidate.access_token)
    assert "errors" not in first
    assert first == second
    assert answered[-2:] == [False, True]  # learned by the first, answered by the second
    assert first["data"]["__typename"] == "Query"
    # Anonymous: @isAuthenticated refuses, and the ordinary path says so.
    refused = await client.execute(MINE, variables)
    assert answered[-1] is False
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # A bad argument value and a bad variable: the ordinary path reports them.
    too_many = await client.execute(MINE, {"first": 1000}, token=candidate.access_token)
    assert answered[-1] is False
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    wrong = await client.execute(MINE, {"status": ["NOT_A_STATUS"]}, token=candidate.access_token)
    assert answered[-1] is False
    assert wrong["errors"]
    # Another viewer with the same document: their own answer.
    other = await client.execute(MINE, variables, token=host.access_token)
    assert answered[-1] is True
    assert other["data"]["me"]["displayName"] == "Host"
    assert (
        other["data"]["myInterviews"]["edges"][0]["node"]["id"]
        == first["data"]["myInterviews"]["edges"][0]["node"]["id"]
    )


async def test_unstorable_text_in_variables_is_refused_by_the_ordinary_path(
    client: GraphQLClient, answered: list[bool]
) -> None:
    member = await client.sign_up("member")
    query = "query($c: String) { notifications(after: $c) { edges { cursor } } }"
    assert "errors" not in await client.execute(query, {"c": None}, token=member.access_token)
    assert "errors" not in await client.execute(query, {"c": None}, token=member.access_token)
    assert answered[-1] is True
    refused = await client.execute(query, {"c": "a\u0000b"}, token=member.access_token)
    assert answered[-1] is False
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_keys_are_listed_and_found_for_sessions_only_on_every_path(
    client: GraphQLClient, app_state: Services, answered: list[bool], fetch_raw_calls: list[str]
) -> None:
    member = await client.sign_up("member")
    created = await client.data(
        'mutation { createApiKey(name: "ci", scope: READ) { secret apiKey { id } } }',
        token=member.access_token,
    )
    secret, key_id = created["createApiKey"]["secret"], created["createApiKey"]["apiKey"]["id"]
    listing = "query { apiKeys(first: 5) { edges { cursor node { id name scope } } } }"
    first = await client.execute(listing, token=member.access_token)
    assert first == await client.execute(listing, token=member.access_token)
    assert answered[-2:] == [False, True]
    assert [edge["node"]["id"] for edge in first["data"]["apiKeys"]["edges"]] == [key_id]
    refused = await client.execute(listing, token=secret)  # learned from a session: still refused
    assert answered[-1] is False
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    found = "query($id: ID!) { node(id: $id) { ... on ApiKey { id name } } }"
    for token, shown in ((member.access_token, True), (secret, False)):
        result, compiled = await both_paths(client, app_state, found, {"id": key_id}, token, fetch_raw_calls)
        assert compiled
        assert (result["data"]["node"] is not None) is shown


async def test_block_history_is_answered_alike_and_bad_ids_take_the_ordinary_path(
    client: GraphQLClient, db_session: AsyncSession, answered: list[bool]
) -> None:
    moderator, member, other = [await client.sign_up(name) for name in ("mod", "member", "other")]
    await set_role(db_session, moderator, "MODERATOR")
    await client.data(BLOCK, {"u": member.id, "r": "spam"}, token=moderator.access_token)
    history = "query($u: ID!) { blockHistory(userId: $u) { edges { node { reason isActive user { id } } } } }"
    first = await client.execute(history, {"u": member.id}, token=moderator.access_token)
    assert first == await client.execute(history, {"u": member.id}, token=moderator.access_token)
    assert answered[-2:] == [False, True]
    assert first["data"]["blockHistory"]["edges"][0]["node"] == {
        "reason": "spam",
        "isActive": True,
        "user": {"id": member.id},
    }
    wrong = await client.execute(history, {"u": "not an id"}, token=moderator.access_token)
    assert answered[-1] is False
    assert wrong["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    refused = await client.execute(history, {"u": member.id}, token=other.access_token)
    assert answered[-1] is False
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_webhooks_are_equal_on_both_paths_for_their_owner_and_others(
    client: GraphQLClient, app_state: Services, answered: list[bool], fetch_raw_calls: list[str]
) -> None:
    owner, other = await client.sign_up("owner"), await client.sign_up("other")
    await client.data(
        "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { webhook { id } } }",
        {"i": {"url": "https://hooks.example.com/mine", "events": ["REMINDER", "BOOKED"]}},
        token=owner.access_token,
    )
    listing = """query { webhooks { __typename id url events consecutiveFailures disabledAt createdAt
      deliveries(first: 1) { edges { cursor node { id status } } pageInfo { hasNextPage endCursor } } } }"""
    for token, count in ((owner.access_token, 1), (other.access_token, 0)):
        result, compiled = await both_paths(client, app_state, listing, {}, token, fetch_raw_calls)
        assert compiled
        assert len(result["data"]["webhooks"]) == count
    result, _ = await both_paths(client, app_state, listing, {}, None, fetch_raw_calls)
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    await client.execute(listing, token=owner.access_token)
    assert answered[-1] is True


async def test_a_learned_reply_carries_the_headers_of_the_ordinary_one(
    client: GraphQLClient, answered: list[bool]
) -> None:
    member = await client.sign_up("headers")
    for n, accept in enumerate(("application/graphql-response+json", "application/json")):
        body = {"query": f"{{ mine{n}: myInterviews(first: 1) {{ edges {{ node {{ id }} }} }} }}"}
        headers = {"Authorization": f"Bearer {member.access_token}", "Accept": accept}
        ordinary = await client.http.post("/graphql", json=body, headers=headers)
        learned = await client.http.post("/graphql", json=body, headers=headers)
        assert answered[-2:] == [False, True]
        assert learned.status_code == ordinary.status_code == 200
        assert learned.json() == ordinary.json() == {"data": {f"mine{n}": {"edges": []}}}
        for name in ("content-type", "cache-control", "x-content-type-options", "content-security-policy"):
            assert learned.headers[name] == ordinary.headers[name], name
