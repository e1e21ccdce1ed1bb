"""Subscriptions over a real socket against the in-process app (uvicorn in the test loop)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from app.core.clock import Clock
from db.models import Specialization, User
from resolvers.unit_of_work import Services
from schema.ids import to_global_id
from schema.live_context import shared_scope_count
from tests.helpers import GraphQLClient, Member, db_id
from tests.live.support import (
    BOARD,
    INTERVIEW_UPDATED,
    LEGACY_WS,
    MESSAGE_ADDED,
    NOTIFICATION_ADDED,
    WsClient,
)
from tests.marketplace_support import CANCEL, publish
from tests.process import free_port
from tests.two_instances import served

SEND = "mutation($id: ID!, $body: String!) { sendMessage(interviewId: $id, body: $body) { id body } }"
LOG_OUT_ALL = "mutation { logOutAll }"


@pytest.fixture(scope="session")
async def ws_base(app: Starlette) -> AsyncIterator[str]:
    """The session app served by uvicorn on a free port (its lifespan already runs)."""
    async with served(app) as url:
        yield url


async def committed_specialization(engine: AsyncEngine) -> str:
    async with engine.begin() as conn:
        key = (
            await conn.execute(
                insert(Specialization).values(name=f"Live {free_port()}").returning(Specialization.id)
            )
        ).scalar_one()
    return to_global_id("Specialization", key)


@dataclass
class Pair:
    host: Member
    candidate: Member
    stranger: Member
    interview_id: str
    spec: str


async def booked_pair(client: GraphQLClient, engine: AsyncEngine, clock: Clock) -> Pair:
    host, candidate, stranger = [await client.sign_up(n) for n in ("host", "cand", "stranger")]
    spec = await committed_specialization(engine)
    slot_id = await publish(client, host, spec, (clock.now() + timedelta(days=2)).replace(microsecond=0))
    data = await client.data(
        "mutation($id: ID!) { bookSlot(slotId: $id) { id } }", {"id": slot_id}, token=candidate.access_token
    )
    return Pair(host, candidate, stranger, data["bookSlot"]["id"], spec)


async def test_anonymous_board_gets_published_slot_without_video_link(
    ws_base: str, committing_client: GraphQLClient, engine: AsyncEngine, clock: Clock
) -> None:
    host = await committing_client.sign_up("host")
    spec = await committed_specialization(engine)
    other_spec = await committed_specialization(engine)
    ws = await WsClient.open(ws_base)
    await ws.acknowledged()
    await ws.subscribe(BOARD, {"spec": spec})
    await asyncio.sleep(0.2)
    start = (clock.now() + timedelta(days=1)).replace(microsecond=0)
    await publish(committing_client, host, other_spec, start)  # filtered out
    slot_id = await publish(committing_client, host, spec, start + timedelta(hours=3))
    data = await ws.next_data()
    assert data["openSlotsChanged"] == {"kind": "PUBLISHED", "slot": {"id": slot_id, "videoLink": None}}
    await ws.close()
    await asyncio.sleep(0.05)
    assert shared_scope_count() == 0  # every event's database scope was closed


async def test_anonymous_cannot_subscribe_to_private_feeds(ws_base: str) -> None:
    ws = await WsClient.open(ws_base)
    await ws.acknowledged()
    await ws.subscribe(NOTIFICATION_ADDED)
    message = await ws.receive()
    assert message["type"] == "error", message
    assert message["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    await ws.close()


@pytest.mark.parametrize("token", ["not-a-jwt", "expired"])
async def test_bad_or_expired_token_is_refused_with_4403(
    ws_base: str, committing_client: GraphQLClient, clock: Clock, token: str
) -> None:
    if token == "expired":
        member = await committing_client.sign_up("late")
        token = member.access_token
        clock.shift(timedelta(hours=2))
    ws = await WsClient.open(ws_base, token=token)
    assert await ws.closed_with() == 4403


async def test_legacy_protocol_authenticates_the_same_way(
    ws_base: str, committing_client: GraphQLClient, engine: AsyncEngine, clock: Clock
) -> None:
    bad = await WsClient.open(ws_base, token="nope", protocol=LEGACY_WS)
    assert (await bad.receive())["type"] == "connection_error"
    pair = await booked_pair(committing_client, engine, clock)
    ws = await WsClient.open(ws_base, token=pair.host.access_token, protocol=LEGACY_WS)
    await ws.acknowledged()
    await ws.subscribe(MESSAGE_ADDED, {"id": pair.interview_id})
    await asyncio.sleep(0.2)
    await committing_client.data(
        SEND, {"id": pair.interview_id, "body": "hello"}, token=pair.candidate.access_token
    )
    data = await ws.next_data()
    assert data["messageAdded"]["body"] == "hello"
    await ws.close()


async def test_outsider_cannot_subscribe_to_an_interview_or_its_chat(
    ws_base: str, committing_client: GraphQLClient, engine: AsyncEngine, clock: Clock
) -> None:
    pair = await booked_pair(committing_client, engine, clock)
    ws = await WsClient.open(ws_base, token=pair.stranger.access_token, header_spelling="authorization")
    await ws.acknowledged()
    for query in (INTERVIEW_UPDATED, MESSAGE_ADDED):
        await ws.subscribe(query, {"id": pair.interview_id})
        message = await ws.receive()
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "NOT_FOUND"
    await ws.close()


async def test_participant_sees_status_changes_and_notifications_with_fresh_loaders(
    ws_base: str, committing_client: GraphQLClient, engine: AsyncEngine, clock: Clock
) -> None:
    pair = await booked_pair(committing_client, engine, clock)
    ws = await WsClient.open(ws_base, token=pair.host.access_token)
    await ws.acknowledged()
    await ws.subscribe(INTERVIEW_UPDATED, {"id": pair.interview_id})
    await ws.subscribe(NOTIFICATION_ADDED)
    await asyncio.sleep(0.2)
    await committing_client.data(
        SEND, {"id": pair.interview_id, "body": "warm-up"}, token=pair.candidate.access_token
    )
    await committing_client.data(CANCEL, {"id": pair.interview_id}, token=pair.candidate.access_token)
    received = [await ws.next_data(), await ws.next_data()]
    statuses = [d["interviewUpdated"]["status"] for d in received if "interviewUpdated" in d]
    kinds = [d["notificationAdded"]["kind"] for d in received if "notificationAdded" in d]
    # A loader cached for the socket would still say SCHEDULED here.
    assert statuses == ["CANCELLED"]
    assert kinds == ["CANCELLED"]
    # The stored payload holds database ids; the subscription shows global IDs, as queries do.
    [payload] = [d["notificationAdded"]["payload"] for d in received if "notificationAdded" in d]
    assert payload["interviewId"] == pair.interview_id
    await ws.close()


async def test_log_out_all_ends_live_subscriptions(ws_base: str, committing_client: GraphQLClient) -> None:
    member = await committing_client.sign_up("leaver")
    ws = await WsClient.open(ws_base, token=member.access_token)
    await ws.acknowledged()
    await ws.subscribe(NOTIFICATION_ADDED)
    await asyncio.sleep(0.2)
    await committing_client.data(LOG_OUT_ALL, token=member.access_token)
    message = await ws.receive()
    assert message["type"] == "next", message
    assert message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await ws.closed_with() == 4403


async def test_subscription_limit_per_connection(ws_base: str, app_state: Services) -> None:
    ws = await WsClient.open(ws_base)
    await ws.acknowledged()
    for _ in range(app_state.settings.max_subscriptions_per_connection):
        await ws.subscribe(BOARD)
    await ws.subscribe(BOARD)
    message = await ws.receive()
    assert message["type"] == "error"
    assert "limit" in message["payload"][0]["message"]
    await ws.close()


async def test_blocking_a_member_closes_their_live_subscriptions(
    ws_base: str, committing_client: GraphQLClient, engine: AsyncEngine
) -> None:
    moderator, member = await committing_client.sign_up("mod"), await committing_client.sign_up("troll")
    async with engine.begin() as conn:
        await conn.execute(update(User).where(User.id == db_id(moderator.id)).values(role="MODERATOR"))
    ws = await WsClient.open(ws_base, token=member.access_token)
    await ws.acknowledged()
    await ws.subscribe(NOTIFICATION_ADDED)
    await ws.subscribe(BOARD)
    await asyncio.sleep(0.2)
    await committing_client.data(
        'mutation($id: ID!) { blockUser(userId: $id, reason: "spam") { id } }',
        {"id": member.id},
        token=moderator.access_token,
    )
    assert await ws.closed_with() == 4403
    # A new socket with the same (still unexpired) access token is refused as well.
    again = await WsClient.open(ws_base, token=member.access_token)
    assert await again.closed_with() == 4403


async def test_socket_closes_when_its_access_token_expires(
    ws_base: str, committing_client: GraphQLClient, app_state: Services
) -> None:
    member = await committing_client.sign_up("shortlived")
    tokens = app_state.tokens
    issued = app_state.clock.now() - timedelta(seconds=tokens.ttl - 1)  # one second left
    session = tokens.verify(member.access_token, app_state.clock.now()).session_id
    token = tokens.issue(db_id(member.id), issued, session)
    ws = await WsClient.open(ws_base, token=token)
    await ws.acknowledged()
    await ws.subscribe(NOTIFICATION_ADDED)
    assert await ws.closed_with(wait=5) == 4403


async def test_compiled_reads_over_a_websocket_equal_http(
    ws_base: str, committing_client: GraphQLClient, engine: AsyncEngine, clock: Clock
) -> None:
    """Queries over graphql-transport-ws go through the same encoder: compiled pages (JSON built
    by PostgreSQL, spliced in as orjson fragments) arrive as they do over HTTP."""
    pair = await booked_pair(committing_client, engine, clock)
    await committing_client.data(
        SEND, {"id": pair.interview_id, "body": "hello ✓"}, token=pair.host.access_token
    )
    mine = """{ myInterviews { edges { cursor node { id status startsAt interviewer { displayName }
      messages(last: 5) { edges { node { body createdAt } } } } } } }"""
    over_http = await committing_client.data(mine, token=pair.candidate.access_token)
    assert over_http["myInterviews"]["edges"][0]["node"]["messages"]["edges"][0]["node"]["body"] == "hello ✓"
    ws = await WsClient.open(ws_base, token=pair.candidate.access_token)
    await ws.acknowledged()
    await ws.subscribe(mine)
    assert await ws.next_data() == over_http
    await ws.close()
