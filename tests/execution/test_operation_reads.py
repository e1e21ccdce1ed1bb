"""Whole queries answered from their compiled root fields (schema/compiled/operations.py): the same
response as the ordinary path, and the ordinary path for everything it must not answer itself."""

from __future__ import annotations

from typing import Any

import pytest

from schema.compiled.operations import OperationReads
from tests.helpers import GraphQLClient
from tests.marketplace_support import book, new_specialization, publish, tomorrow

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
