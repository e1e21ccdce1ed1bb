"""Live feeds survive reconnects (docs/product.md, rule 27): with the cursor of the last event it saw,
a subscriber gets what it missed from PostgreSQL, then live events, with no gap and no duplicate."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.clock import Clock
from app.core.enums import NotificationKind
from db.models import Message
from resolvers.chat import event_of as chat_event
from resolvers.notifications import notify
from resolvers.unit_of_work import Services, UnitOfWork
from schema.ids import encode_cursor
from schema.pagination import after_id
from tests.helpers import GraphQLClient, Member, db_id
from tests.live.support import WsClient
from tests.live.test_events_hub import RedisProcess
from tests.live.test_websockets import Pair, booked_pair, committed_specialization, ws_base
from tests.marketplace_support import CANCEL, publish
from tests.security.test_hostile_inputs import ODD_CURSORS, SCHEMA
from tests.two_instances import Instances, two_instances

__all__ = ["ws_base"]

SEND = "mutation($id: ID!, $body: String!) { sendMessage(interviewId: $id, body: $body) { id cursor } }"
MESSAGES = """subscription($id: ID!, $after: String) {
  messageAdded(interviewId: $id, after: $after) { id cursor body author { id } } }"""
NOTIFICATIONS = "subscription($after: String) { notificationAdded(after: $after) { id cursor kind } }"
INTERVIEW = """subscription($id: ID!, $after: String) {
  interviewUpdated(id: $id, after: $after) { id status version } }"""
MINE = "{ myInterviews { edges { node { id version } } } }"
HISTORY = """query($id: ID!) { node(id: $id) { ... on Interview {
  messages(last: 3) { edges { cursor node { cursor } } } } } }"""
VERSION = "query($id: ID!) { node(id: $id) { ... on Interview { version status } } }"


async def send(client: GraphQLClient, member: Member, interview_id: str, body: str) -> dict[str, Any]:
    data = await client.data(SEND, {"id": interview_id, "body": body}, token=member.access_token)
    result: dict[str, Any] = data["sendMessage"]
    return result


async def subscribed(url: str, member: Member, query: str, variables: dict[str, Any]) -> WsClient:
    ws = await WsClient.open(url, token=member.access_token)
    await ws.acknowledged()
    await ws.subscribe(query, variables)
    return ws


async def received(ws: WsClient, field: str, count: int) -> list[dict[str, Any]]:
    return [(await ws.next_data(wait=10))[field] for _ in range(count)]


async def nothing_more(ws: WsClient, wait: float = 0.5) -> bool:
    try:
        message = await ws.receive(wait=wait)
    except TimeoutError:
        return True
    raise AssertionError(f"unexpected {message}")


async def test_reconnect_with_the_last_cursor_gets_exactly_the_missed_messages_then_live_ones(
    ws_base: str, committing_client: GraphQLClient, engine: AsyncEngine, clock: Clock
) -> None:
    pair = await booked_pair(committing_client, engine, clock)
    first = await send(committing_client, pair.host, pair.interview_id, "before")
    ws = await subscribed(
        ws_base, pair.candidate, MESSAGES, {"id": pair.interview_id, "after": first["cursor"]}
    )
    await send(committing_client, pair.host, pair.interview_id, "seen 1")
    await send(committing_client, pair.candidate, pair.interview_id, "seen 2")
    seen = await received(ws, "messageAdded", 2)
    assert [m["body"] for m in seen] == ["seen 1", "seen 2"]
    assert seen[1]["cursor"] == encode_cursor(db_id(seen[1]["id"]))
    await ws.close()

    missed = [await send(committing_client, pair.host, pair.interview_id, f"missed {i}") for i in range(5)]
    ws = await subscribed(
        ws_base, pair.candidate, MESSAGES, {"id": pair.interview_id, "after": seen[1]["cursor"]}
    )
    replayed = await received(ws, "messageAdded", 5)
    assert [m["id"] for m in replayed] == [m["id"] for m in missed]
    assert replayed[0]["author"]["id"] == pair.host.id  # replayed messages resolve like live ones
    history = await committing_client.data(HISTORY, {"id": pair.interview_id}, token=pair.host.access_token)
    edges = history["node"]["messages"]["edges"]
    assert [e["cursor"] for e in edges] == [e["node"]["cursor"] for e in edges]  # the list's cursors
    assert edges[-1]["cursor"] == replayed[-1]["cursor"]
    live = [await send(committing_client, pair.candidate, pair.interview_id, f"live {i}") for i in range(2)]
    assert [m["id"] for m in await received(ws, "messageAdded", 2)] == [m["id"] for m in live]
    assert await nothing_more(ws)
    await ws.close()


async def _send_many(client: GraphQLClient, pair: Pair, count: int, started: asyncio.Event) -> None:
    async def one(i: int) -> None:
        if i == count // 4:
            started.set()
        member = pair.host if i % 2 else pair.candidate
        await send(client, member, pair.interview_id, f"burst {i}")

    # A few senders at once, so inserts and publishes interleave with the subscription's start.
    queue = list(range(count))

    async def sender() -> None:
        while queue:
            await one(queue.pop(0))

    await asyncio.gather(*(sender() for _ in range(4)))


async def chat_ids(engine: AsyncEngine, interview_id: str, after: int) -> list[int]:
    async with engine.connect() as conn:
        statement = (
            select(Message.id)
            .where(Message.interview_id == db_id(interview_id), Message.id > after)
            .order_by(Message.id)
        )
        return list((await conn.execute(statement)).scalars())


async def test_messages_sent_while_the_subscription_starts_are_neither_lost_nor_duplicated(
    ws_base: str, committing_client: GraphQLClient, engine: AsyncEngine, clock: Clock
) -> None:
    pair = await booked_pair(committing_client, engine, clock)
    cursor = (await send(committing_client, pair.host, pair.interview_id, "start"))["cursor"]
    for _ in range(3):
        started = asyncio.Event()
        burst = asyncio.create_task(_send_many(committing_client, pair, 40, started))
        await started.wait()  # the seam falls in the middle of the burst
        ws = await subscribed(ws_base, pair.candidate, MESSAGES, {"id": pair.interview_id, "after": cursor})
        await burst
        last = await send(committing_client, pair.host, pair.interview_id, "end of burst")
        got: list[dict[str, Any]] = []
        while not got or got[-1]["id"] != last["id"]:
            got.append((await ws.next_data(wait=10))["messageAdded"])
        expected = await chat_ids(engine, pair.interview_id, db_id_of_cursor(cursor))
        assert [db_id(m["id"]) for m in got] == expected  # each once, in order, none missing
        assert await nothing_more(ws, 0.3)
        await ws.close()
        cursor = last["cursor"]


def db_id_of_cursor(cursor: str) -> int:
    key = after_id(cursor)
    assert key is not None
    return key


async def test_interview_updated_with_a_version_replays_the_current_state_once(
    ws_base: str, committing_client: GraphQLClient, engine: AsyncEngine, clock: Clock
) -> None:
    pair = await booked_pair(committing_client, engine, clock)
    before = (await committing_client.data(VERSION, {"id": pair.interview_id}, token=pair.host.access_token))[
        "node"
    ]
    # Up to date: nothing to replay, and live changes still come.
    ws = await subscribed(
        ws_base, pair.host, INTERVIEW, {"id": pair.interview_id, "after": before["version"]}
    )
    assert await nothing_more(ws)
    await ws.close()
    mine = await committing_client.data(MINE, token=pair.host.access_token)
    assert mine["myInterviews"]["edges"][0]["node"]["version"] == before["version"]  # compiled read
    await committing_client.data(
        CANCEL, {"id": pair.interview_id, "r": "ill"}, token=pair.candidate.access_token
    )
    ws = await subscribed(
        ws_base, pair.host, INTERVIEW, {"id": pair.interview_id, "after": before["version"]}
    )
    missed = (await ws.next_data())["interviewUpdated"]
    assert missed["status"] == "CANCELLED"
    assert missed["version"] != before["version"]
    assert await nothing_more(ws)
    await ws.close()


async def _notify(services: Services, member: Member, count: int) -> None:
    uow = UnitOfWork.open(services)
    try:
        for i in range(count):
            async with uow.db.transaction() as session:
                await notify(session, db_id(member.id), NotificationKind.BOOKED, {"n": i}, uow)
    finally:
        await uow.close()


async def test_notifications_resume_after_the_cursor(
    ws_base: str, committing_client: GraphQLClient, app_state: Services
) -> None:
    member = await committing_client.sign_up("resumer")
    await _notify(app_state, member, 1)
    listed = await committing_client.data(
        "{ notifications(first: 1) { edges { cursor node { id cursor } } } }", token=member.access_token
    )
    edge = listed["notifications"]["edges"][0]
    assert edge["cursor"] == edge["node"]["cursor"]  # the list's cursor is the event's cursor
    ws = await subscribed(ws_base, member, NOTIFICATIONS, {"after": edge["cursor"]})
    await _notify(app_state, member, 2)
    seen = await received(ws, "notificationAdded", 2)
    await ws.close()
    await _notify(app_state, member, 3)
    ws = await subscribed(ws_base, member, NOTIFICATIONS, {"after": seen[-1]["cursor"]})
    missed = await received(ws, "notificationAdded", 3)
    await _notify(app_state, member, 1)
    live = await received(ws, "notificationAdded", 1)
    ids = [db_id(n["id"]) for n in [*seen, *missed, *live]]
    assert ids == sorted(set(ids))
    assert len(ids) == 6
    assert await nothing_more(ws)
    await ws.close()


async def test_bad_cursors_are_bad_user_input(
    ws_base: str, committing_client: GraphQLClient, engine: AsyncEngine, clock: Clock
) -> None:
    pair = await booked_pair(committing_client, engine, clock)
    ws = await WsClient.open(ws_base, token=pair.host.access_token)
    await ws.acknowledged()
    cases = [
        (MESSAGES, {"id": pair.interview_id, "after": "not a cursor"}),
        (MESSAGES, {"id": pair.interview_id, "after": encode_cursor("2031-01-01T00:00:00+00:00", 1)}),
        (MESSAGES, {"id": pair.interview_id, "after": encode_cursor(2**63)}),
        (NOTIFICATIONS, {"after": "%%%"}),
        (INTERVIEW, {"id": pair.interview_id, "after": encode_cursor(5)}),
        (INTERVIEW, {"id": pair.interview_id, "after": "eA=="}),
    ]
    for query, variables in cases:
        await ws.subscribe(query, variables)
        message = await ws.receive()
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT", message
    # Every subscription with `after`, with every odd cursor the list queries refuse.
    subscription = SCHEMA.subscription_type
    assert subscription is not None
    with_after = {name for name, field in subscription.fields.items() if "after" in field.args}
    assert with_after == {"messageAdded", "notificationAdded", "interviewUpdated"}
    for query in (MESSAGES, NOTIFICATIONS, INTERVIEW):
        for cursor in ODD_CURSORS:
            await ws.subscribe(query, {"id": pair.interview_id, "after": cursor})
            message = await ws.receive()
            assert message["type"] == "error", (query, cursor, message)
            error = message["payload"][0]
            assert (error["extensions"]["code"], error["extensions"].get("field")) == (
                "BAD_USER_INPUT",
                "after",
            ), (query, cursor, message)
    # A stranger with a good cursor is refused as before.
    cursor = (await send(committing_client, pair.host, pair.interview_id, "x"))["cursor"]
    stranger = await subscribed(ws_base, pair.stranger, MESSAGES, {"id": pair.interview_id, "after": cursor})
    message = await stranger.receive()
    assert message["payload"][0]["extensions"]["code"] == "NOT_FOUND", message
    await stranger.close()
    await ws.close()


async def test_a_feed_that_stays_open_replays_what_a_redis_restart_lost(
    postgres_server: str, tmp_path: Path
) -> None:
    redis = RedisProcess(tmp_path)
    redis.start()
    try:
        async with two_instances(postgres_server, redis.url) as instances:
            await _restart_under(instances, redis)
    finally:
        redis.kill()


async def _restart_under(instances: Instances, redis: RedisProcess) -> None:
    a, b = instances.a, instances.b
    host, candidate = await a.http.sign_up("host"), await a.http.sign_up("cand")
    interview_id = await _booked(instances, host, candidate)
    cursor = (await send(a.http, host, interview_id, "start"))["cursor"]
    ws = await subscribed(b.ws_url, candidate, MESSAGES, {"id": interview_id, "after": cursor})
    live = await send(a.http, host, interview_id, "live")
    assert (await ws.next_data(wait=10))["messageAdded"]["id"] == live["id"]
    epoch = b.services.hub.reconnects
    redis.kill()
    # Rows whose events were lost with Redis (written behind the app's back: no event at all) ...
    rows = [
        {"interview_id": db_id(interview_id), "author_id": db_id(host.id), "body": f"lost {i}"}
        for i in range(3)
    ]
    async with a.engine.begin() as conn:
        lost = (await conn.execute(insert(Message).values(rows).returning(Message.id))).scalars().all()
    await asyncio.sleep(0.5)
    redis.start()
    # ... reach the open subscription once its instance's hub is back, before later live ones.
    replayed = await received(ws, "messageAdded", 3)
    assert [db_id(m["id"]) for m in replayed] == sorted(lost)
    assert b.services.hub.reconnects > epoch
    after = await send(a.http, host, interview_id, "after")
    assert (await ws.next_data(wait=10))["messageAdded"]["id"] == after["id"]
    assert await nothing_more(ws)
    await ws.close()


async def test_resume_across_instances(postgres_server: str, redis_url: str) -> None:
    async with two_instances(postgres_server, redis_url) as instances:
        await _resume_across(instances)


async def _resume_across(instances: Instances) -> None:
    a, b = instances.a, instances.b
    host = await a.http.sign_up("host")
    candidate = await a.http.sign_up("cand")
    interview_id = await _booked(instances, host, candidate)
    cursor = (await send(a.http, host, interview_id, "first"))["cursor"]
    ws = await subscribed(b.ws_url, candidate, MESSAGES, {"id": interview_id, "after": cursor})
    await send(a.http, host, interview_id, "live on a")
    last = (await ws.next_data(wait=10))["messageAdded"]
    await ws.close()
    missed = [await send(a.http, host, interview_id, f"missed {i}") for i in range(4)]
    ws = await subscribed(b.ws_url, candidate, MESSAGES, {"id": interview_id, "after": last["cursor"]})
    assert [m["id"] for m in await received(ws, "messageAdded", 4)] == [m["id"] for m in missed]
    live = await send(a.http, candidate, interview_id, "live again")
    assert (await ws.next_data(wait=10))["messageAdded"]["id"] == live["id"]
    assert await nothing_more(ws)
    await ws.close()


async def test_a_live_message_that_overtakes_an_earlier_one_is_delivered_after_it(
    postgres_server: str, redis_url: str
) -> None:
    async with two_instances(postgres_server, redis_url) as instances:
        await _overtaken(instances)


async def _overtaken(instances: Instances) -> None:
    """Two instances publish independently: the later message's event can arrive first."""
    a, b = instances.a, instances.b
    host, candidate = await a.http.sign_up("host"), await a.http.sign_up("cand")
    interview_id = await _booked(instances, host, candidate)
    start = await send(a.http, host, interview_id, "start")
    ws = await subscribed(b.ws_url, candidate, MESSAGES, {"id": interview_id, "after": start["cursor"]})
    first = await send(a.http, host, interview_id, "first")
    assert (await ws.next_data(wait=10))["messageAdded"]["id"] == first["id"]  # the feed is live
    now = datetime.now(UTC)
    slow, fast = (
        Message(interview_id=db_id(interview_id), author_id=db_id(host.id), body=body, created_at=now)
        for body in ("slow", "fast")
    )
    async with AsyncSession(a.engine, expire_on_commit=False) as session, session.begin():
        session.add(slow)
        await session.flush()  # ids in this order
        session.add(fast)
    channel = a.services.channels.chat(db_id(interview_id))
    await a.services.hub.publish(channel, chat_event(fast, slow.id))
    got = await received(ws, "messageAdded", 2)
    assert [m["body"] for m in got] == ["slow", "fast"]  # the slow one read from the database first
    await a.services.hub.publish(channel, chat_event(slow, db_id(first["id"])))  # arrives late: dropped
    live = await send(a.http, host, interview_id, "live")
    assert (await ws.next_data(wait=10))["messageAdded"]["id"] == live["id"]
    assert await nothing_more(ws)
    await ws.close()


async def _booked(instances: Instances, host: Member, candidate: Member) -> str:
    spec = await committed_specialization(instances.a.engine)
    starts = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    slot = await publish(instances.a.http, host, spec, starts)
    data = await instances.a.http.data(
        "mutation($id: ID!) { bookSlot(slotId: $id) { id } }", {"id": slot}, token=candidate.access_token
    )
    booked: str = data["bookSlot"]["id"]
    return booked
