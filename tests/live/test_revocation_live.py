"""Live sockets follow access changes made on ANOTHER instance (docs/trust.md, "Revocation"): a block,
logging out everywhere or the revocation of the socket's session closes it with 4403; a role change
re-checks running subscriptions and the socket uses the new role from then on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from db.models import Specialization
from schema.ids import to_global_id
from tests.helpers import Member
from tests.live.support import INTERVIEW_UPDATED, MESSAGE_ADDED, NOTIFICATION_ADDED, WsClient
from tests.marketplace_support import publish
from tests.process import free_port
from tests.two_instances import Instances, two_instances

SEND = "mutation($id: ID!, $body: String!) { sendMessage(interviewId: $id, body: $body) { id } }"
BOOK = "mutation($id: ID!) { bookSlot(slotId: $id) { id } }"
SET_ROLE = "mutation($u: ID!, $r: Role!) { setUserRole(userId: $u, role: $r) { id role } }"
BLOCK = 'mutation($u: ID!) { blockUser(userId: $u, reason: "abuse") { id } }'
LOG_IN = """mutation($e: String!, $p: String!) { logIn(input: {email: $e, password: $p}) {
  accessToken refreshToken } }"""
LOG_OUT = "mutation($t: String!) { logOut(refreshToken: $t) }"
CHANGE_PASSWORD = (
    "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }"
)
USERS = "query { users(first: 1) { edges { node { id } } } }"  # moderators and admins only
ME = "query { me { id role } }"


@pytest.fixture(scope="module")
async def instances(postgres_server: str, redis_url: str) -> AsyncIterator[Instances]:
    async with two_instances(postgres_server, redis_url) as pair:
        yield pair


async def booked_interview(instances: Instances) -> tuple[Member, str]:
    """A candidate and their interview, booked through instance A."""
    http = instances.a.http
    host, candidate = await http.sign_up("host"), await http.sign_up("cand")
    async with instances.a.engine.begin() as conn:
        key = (
            await conn.execute(
                insert(Specialization).values(name=f"Revocation {free_port()}").returning(Specialization.id)
            )
        ).scalar_one()
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    slot_id = await publish(http, host, to_global_id("Specialization", key), start)
    interview: str = (await http.data(BOOK, {"id": slot_id}, token=candidate.access_token))["bookSlot"]["id"]
    return candidate, interview


async def query_over(ws: WsClient, query: str) -> dict[str, Any]:
    """Run a query on the socket; its result payload (data and errors)."""
    op = await ws.subscribe(query)
    while True:
        message = await ws.receive()
        if message.get("id") == op and message["type"] == "next":
            payload: dict[str, Any] = message["payload"]
            return payload


async def errors_by_operation(ws: WsClient, count: int, wait: float) -> dict[str, str]:
    """The error codes of the next `count` operations that end with an error, within `wait` seconds."""
    codes: dict[str, str] = {}
    deadline = time.monotonic() + wait
    while len(codes) < count:
        message = await ws.receive(max(deadline - time.monotonic(), 0.01))
        assert message["type"] in ("next", "complete"), message
        if message["type"] == "next":
            assert message["payload"].get("errors"), message  # no event slips through meanwhile
            codes[message["id"]] = message["payload"]["errors"][0]["extensions"]["code"]
    return codes


async def nothing_for(ws: WsClient, seconds: float) -> None:
    """No result arrives within `seconds` (completions of ended operations aside)."""
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            message = await ws.receive(remaining)
        except TimeoutError:
            return
        assert message["type"] == "complete", message


async def test_demoted_moderator_stops_receiving_a_chat_they_take_no_part_in(instances: Instances) -> None:
    a, b = instances.a, instances.b
    candidate, interview = await booked_interview(instances)
    admin, moderator = await a.http.sign_up("admin"), await a.http.sign_up("mod")
    await instances.set_role(admin, "ADMIN")
    await instances.set_role(moderator, "MODERATOR")
    ws = await WsClient.open(b.ws_url, token=moderator.access_token)
    await ws.acknowledged()
    chat = await ws.subscribe(MESSAGE_ADDED, {"id": interview})
    status = await ws.subscribe(INTERVIEW_UPDATED, {"id": interview})
    await asyncio.sleep(0.3)  # the SUBSCRIBEs reach Redis
    await a.http.data(SEND, {"id": interview, "body": "before"}, token=candidate.access_token)
    assert (await ws.next_data())["messageAdded"]["body"] == "before"  # staff may follow any chat
    assert not (await query_over(ws, USERS)).get("errors")

    await a.http.data(SET_ROLE, {"u": moderator.id, "r": "MEMBER"}, token=admin.access_token)
    began = time.monotonic()
    assert await errors_by_operation(ws, 2, wait=1.0) == {chat: "FORBIDDEN", status: "FORBIDDEN"}
    assert time.monotonic() - began < 1.0
    await a.http.data(SEND, {"id": interview, "body": "after"}, token=candidate.access_token)
    await nothing_for(ws, 0.5)
    # The socket stays open and now acts with the new role.
    denied = await query_over(ws, USERS)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await query_over(ws, ME))["data"]["me"]["role"] == "MEMBER"
    again = await ws.subscribe(MESSAGE_ADDED, {"id": interview})
    while (refused := await ws.receive())["id"] != again:
        assert refused["type"] == "complete", refused  # of the queries above
    assert refused["type"] == "error", refused
    assert refused["payload"][0]["extensions"]["code"] == "NOT_FOUND"
    await ws.close()


async def test_promotion_applies_to_an_idle_socket(instances: Instances) -> None:
    a, b = instances.a, instances.b
    admin, member = await a.http.sign_up("admin"), await a.http.sign_up("rising")
    await instances.set_role(admin, "ADMIN")
    ws = await WsClient.open(b.ws_url, token=member.access_token)
    await ws.acknowledged()
    await asyncio.sleep(0.2)
    assert (await query_over(ws, USERS))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await a.http.data(SET_ROLE, {"u": member.id, "r": "MODERATOR"}, token=admin.access_token)
    began = time.monotonic()
    while (await query_over(ws, USERS)).get("errors"):
        assert time.monotonic() - began < 1.0
        await asyncio.sleep(0.05)
    await ws.close()


async def test_block_closes_even_an_idle_socket(instances: Instances) -> None:
    a, b = instances.a, instances.b
    moderator, member = await a.http.sign_up("mod"), await a.http.sign_up("troll")
    await instances.set_role(moderator, "MODERATOR")
    ws = await WsClient.open(b.ws_url, token=member.access_token)
    await ws.acknowledged()
    await asyncio.sleep(0.2)
    await a.http.data(BLOCK, {"u": member.id}, token=moderator.access_token)
    began = time.monotonic()
    assert await ws.closed_with(wait=2) == 4403
    assert time.monotonic() - began < 1.0


async def test_log_out_closes_the_sockets_of_that_session_only(instances: Instances) -> None:
    a, b = instances.a, instances.b
    member = await a.http.sign_up("two-devices")
    other = (await a.http.data(LOG_IN, {"e": member.email, "p": member.password}))["logIn"]
    mine = await WsClient.open(b.ws_url, token=member.access_token)
    theirs = await WsClient.open(b.ws_url, token=other["accessToken"])
    for ws in (mine, theirs):
        await ws.acknowledged()
    await mine.subscribe(NOTIFICATION_ADDED)
    await asyncio.sleep(0.3)
    await a.http.data(LOG_OUT, {"t": member.refresh_token})
    began = time.monotonic()
    ended = await mine.receive(wait=1.0)
    assert ended["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", ended
    assert await mine.closed_with(wait=2) == 4403
    assert time.monotonic() - began < 1.0
    # The other session's socket is untouched.
    assert (await query_over(theirs, ME))["data"]["me"]["id"] == member.id
    await theirs.close()


async def test_change_password_closes_other_sessions_and_api_key_sockets(instances: Instances) -> None:
    a, b = instances.a, instances.b
    member = await a.http.sign_up("rotating")
    other = (await a.http.data(LOG_IN, {"e": member.email, "p": member.password}))["logIn"]
    created = await a.http.data(
        'mutation { createApiKey(name: "ci", scope: READ) { secret } }', token=member.access_token
    )
    sockets = {
        "caller": await WsClient.open(b.ws_url, token=member.access_token),
        "other session": await WsClient.open(b.ws_url, token=other["accessToken"]),
        "api key": await WsClient.open(b.ws_url, token=created["createApiKey"]["secret"]),
    }
    for ws in sockets.values():
        await ws.acknowledged()
    await asyncio.sleep(0.3)
    changed = {"c": member.password, "n": "another long password"}
    await a.http.data(CHANGE_PASSWORD, changed, token=member.access_token)
    began = time.monotonic()
    for name in ("other session", "api key"):
        assert await sockets[name].closed_with(wait=2) == 4403, name
    assert time.monotonic() - began < 1.0
    assert (await query_over(sockets["caller"], ME))["data"]["me"]["id"] == member.id
    await sockets["caller"].close()
