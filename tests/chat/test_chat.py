"""Chat: who may send and read, validation, rate limit, keyset pagination for catching up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from resolvers.unit_of_work import Services
from tests.helpers import GraphQLClient, Member
from tests.marketplace_support import book, new_specialization, publish, set_role

SEND = """mutation($id: ID!, $body: String!) {
  sendMessage(interviewId: $id, body: $body) { id body author { id } } }"""
HISTORY = """query($id: ID!, $first: Int, $after: String) { interview(id: $id) {
  messages(first: $first, after: $after) {
    edges { cursor node { id body } } pageInfo { hasNextPage endCursor } } } }"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Message { body } } }"


async def setup(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> tuple[Member, Member, Member, str]:
    host, candidate, stranger = [await client.sign_up(n) for n in ("host", "cand", "stranger")]
    spec = await new_specialization(db_session)
    slot_id = await publish(client, host, spec, (clock.now() + timedelta(days=1)).replace(microsecond=0))
    interview = await book(client, candidate, slot_id)
    interview_id: str = interview["id"]
    return host, candidate, stranger, interview_id


async def test_participants_chat_and_history_pages_oldest_first(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, candidate, _, interview_id = await setup(client, db_session, clock)
    bodies = [f"message {i}" for i in range(5)]
    for i, body in enumerate(bodies):
        sender = host if i % 2 == 0 else candidate
        data = await client.data(SEND, {"id": interview_id, "body": body}, token=sender.access_token)
        assert data["sendMessage"]["author"]["id"] == sender.id
    first = await client.data(HISTORY, {"id": interview_id, "first": 3}, token=host.access_token)
    page = first["interview"]["messages"]
    assert [e["node"]["body"] for e in page["edges"]] == bodies[:3]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await client.data(
        HISTORY, {"id": interview_id, "after": page["pageInfo"]["endCursor"]}, token=candidate.access_token
    )
    assert [e["node"]["body"] for e in rest["interview"]["messages"]["edges"]] == bodies[3:]
    assert rest["interview"]["messages"]["pageInfo"]["hasNextPage"] is False


async def test_outsiders_cannot_send_or_read_but_staff_can_read(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, _, stranger, interview_id = await setup(client, db_session, clock)
    sent = await client.data(SEND, {"id": interview_id, "body": "private"}, token=host.access_token)
    message_id = sent["sendMessage"]["id"]
    token = stranger.access_token
    assert await client.error_code(SEND, {"id": interview_id, "body": "hi"}, token=token) == "NOT_FOUND"
    assert (await client.data(NODE, {"id": message_id}, token=token))["node"] is None
    assert (await client.data(HISTORY, {"id": interview_id}, token=token))["interview"] is None
    await set_role(db_session, stranger, "MODERATOR")
    assert await client.error_code(SEND, {"id": interview_id, "body": "hi"}, token=token) == "FORBIDDEN"
    history = await client.data(HISTORY, {"id": interview_id}, token=token)
    assert [e["node"]["body"] for e in history["interview"]["messages"]["edges"]] == ["private"]
    assert (await client.data(NODE, {"id": message_id}, token=token))["node"] == {
        "id": message_id,
        "body": "private",
    }
    assert await client.error_code(SEND, {"id": interview_id, "body": "x"}) == "UNAUTHENTICATED"


@pytest.mark.parametrize("body", ["", "   ", "x" * 2001])
async def test_message_length_is_checked(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock, body: str
) -> None:
    host, _, _, interview_id = await setup(client, db_session, clock)
    code = await client.error_code(SEND, {"id": interview_id, "body": body}, token=host.access_token)
    assert code == "BAD_USER_INPUT"


async def test_sending_is_rate_limited_per_member(
    client: GraphQLClient,
    db_session: AsyncSession,
    clock: Clock,
    app_state: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host, candidate, _, interview_id = await setup(client, db_session, clock)
    monkeypatch.setattr(app_state.settings, "rate_limit_messages_per_user", 3)
    for i in range(3):
        await client.data(SEND, {"id": interview_id, "body": f"m{i}"}, token=host.access_token)
    result = await client.execute(SEND, {"id": interview_id, "body": "one too many"}, token=host.access_token)
    assert result["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert result["errors"][0]["extensions"]["retryAfter"] >= 1
    # The other participant has their own budget.
    await client.data(SEND, {"id": interview_id, "body": "still fine"}, token=candidate.access_token)
