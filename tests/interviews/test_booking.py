"""Booking, interview visibility, dataloader batching and events after commit (docs/product.md, rules 6-8)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.clock import Clock
from db.models import Interview, Message, PointsEntry, Slot
from resolvers.unit_of_work import Services
from schema.ids import encode_cursor, to_global_id
from tests.helpers import GraphQLClient, Member, db_id
from tests.marketplace_support import (
    BOOK_SLOT,
    CANCEL,
    CREATE_SLOT,
    INTERVIEW,
    MY_INTERVIEWS,
    NODE,
    OPEN_SLOTS,
    assert_ledger_consistent,
    book,
    grant,
    new_specialization,
    points,
    publish,
    set_role,
    slot_input,
    tomorrow,
    travel,
)


async def test_book_slot_spends_and_reveals_link_to_candidate(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, candidate, stranger = [await client.sign_up(n) for n in ("host", "cand", "stranger")]
    spec = await new_specialization(db_session)
    slot_id = await publish(client, host, spec, tomorrow(clock))
    interview = await book(client, candidate, slot_id)
    assert interview["status"] == "SCHEDULED"
    assert interview["videoLink"] == "https://meet.example.com/room-1"
    assert interview["slot"] == {"id": slot_id, "status": "BOOKED", "videoLink": interview["videoLink"]}
    assert interview["interviewer"]["id"] == host.id
    assert interview["candidate"]["id"] == candidate.id
    assert await points(client, candidate) == 0
    assert (await client.data(OPEN_SLOTS, {"spec": spec}))["openSlots"]["edges"] == []

    again = await book(client, candidate, slot_id)  # a retry spends nothing more
    assert again["id"] == interview["id"]
    assert await points(client, candidate) == 0
    spent = await db_session.scalar(
        select(func.count()).select_from(PointsEntry).where(PointsEntry.kind == "SPEND")
    )
    assert spent == 1

    # Privacy: a stranger sees neither the interview nor the link.
    assert (await client.data(INTERVIEW, {"id": interview["id"]}, token=stranger.access_token))[
        "interview"
    ] is None
    assert (await client.data(NODE, {"id": interview["id"]}, token=stranger.access_token))["node"] is None
    assert (await client.data(MY_INTERVIEWS, token=stranger.access_token))["myInterviews"]["edges"] == []
    slot_query = "query($id: ID!) { node(id: $id) { ... on Slot { videoLink } } }"
    assert (await client.data(slot_query, {"id": slot_id}, token=stranger.access_token))["node"] == {
        "videoLink": None
    }
    assert (await client.data(slot_query, {"id": slot_id}, token=candidate.access_token))["node"]["videoLink"]
    assert await client.error_code(BOOK_SLOT, {"id": slot_id}, token=stranger.access_token) == "CONFLICT"
    for member in (host, candidate):
        mine = (await client.data(MY_INTERVIEWS, token=member.access_token))["myInterviews"]["edges"]
        assert [e["node"]["id"] for e in mine] == [interview["id"]]
    moderator = await client.sign_up("mod")
    await set_role(db_session, moderator, "MODERATOR")
    seen = (await client.data(INTERVIEW, {"id": interview["id"]}, token=moderator.access_token))["interview"]
    assert seen["videoLink"] == interview["videoLink"]
    await assert_ledger_consistent(db_session)


TWO_BOOKINGS = """mutation($a: ID!, $b: ID!) {
  first: bookSlot(slotId: $a) { candidate { id points } }
  second: bookSlot(slotId: $b) { candidate { id points } } }"""


async def test_a_write_clears_every_cached_form_of_the_member(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    """The mutations of one document share the request's loaders: the second booking shows the
    candidate after both spends, not the `User` object cached while answering the first."""
    host, candidate = await client.sign_up("host"), await client.sign_up("cand")
    await grant(db_session, candidate, 5)
    spec = await new_specialization(db_session)
    first, second = [await publish(client, host, spec, tomorrow(clock) + timedelta(hours=h)) for h in (0, 2)]
    before = await points(client, candidate)
    data = await client.data(TWO_BOOKINGS, {"a": first, "b": second}, token=candidate.access_token)
    assert data["first"]["candidate"] == {"id": candidate.id, "points": before - 1}
    assert data["second"]["candidate"] == {"id": candidate.id, "points": before - 2}


async def test_booking_refusals(client: GraphQLClient, db_session: AsyncSession, clock: Clock) -> None:
    host, poor = await client.sign_up("host"), await client.sign_up("poor")
    spec = await new_specialization(db_session)
    own = await publish(client, host, spec, tomorrow(clock))
    assert await client.error_code(BOOK_SLOT, {"id": own}, token=host.access_token) == "FORBIDDEN"
    assert await client.error_code(BOOK_SLOT, {"id": own}) == "UNAUTHENTICATED"
    assert await client.error_code(BOOK_SLOT, {"id": "bad"}, token=poor.access_token) == "BAD_USER_INPUT"
    missing = {"id": to_global_id("Slot", 10**9)}
    assert await client.error_code(BOOK_SLOT, missing, token=poor.access_token) == "NOT_FOUND"

    # Not enough points: nothing is half-written.
    await book(client, poor, await publish(client, host, spec, tomorrow(clock, 2)))
    third = await publish(client, host, spec, tomorrow(clock, 4))
    assert await client.error_code(BOOK_SLOT, {"id": third}, token=poor.access_token) == "INSUFFICIENT_POINTS"
    assert await db_session.scalar(select(func.count()).select_from(Interview)) == 1
    assert (await db_session.get(Slot, db_id(third), populate_existing=True)).status == "OPEN"  # type: ignore[union-attr]

    # A past slot.
    await grant(db_session, poor, 5)
    await travel(client, clock, timedelta(days=1, hours=4, minutes=1), poor)
    assert await client.error_code(BOOK_SLOT, {"id": third}, token=poor.access_token) == "CONFLICT"
    await assert_ledger_consistent(db_session)


async def test_candidate_cannot_hold_overlapping_interviews(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host_a, host_b, candidate = [await client.sign_up(n) for n in ("a", "b", "cand")]
    await grant(db_session, candidate, 3)
    spec = await new_specialization(db_session)
    first = await publish(client, host_a, spec, tomorrow(clock))
    second = await publish(client, host_b, spec, tomorrow(clock, 0.5))
    await book(client, candidate, first)
    assert await client.error_code(BOOK_SLOT, {"id": second}, token=candidate.access_token) == "CONFLICT"
    assert await points(client, candidate) == 3
    await assert_ledger_consistent(db_session)


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


FULL_PAGE = """query($first: Int) { myInterviews(first: $first) { edges { node {
  id status videoLink
  slot { id title host { displayName } specialization { name } }
  interviewer { displayName stats { interviewsGiven averageRating } }
  candidate { displayName }
  specialization { name }
  feedback { rating author { displayName } }
  messages(last: 5) { edges { node { id body } } }
  oldest: messages(first: 2) { edges { node { id } } }
} } } }"""


async def booked_interviews(
    db_session: AsyncSession,
    clock: Clock,
    candidate: Member,
    hosts: list[Member],
    spec: str,
    *,
    count: int,
    messages: Callable[[int], int],
) -> None:
    """`count` booked interviews of `candidate` with rotating hosts, hourly from tomorrow; the n-th
    has `messages(n)` chat messages."""
    base = tomorrow(clock)
    for n in range(count):
        start = base + timedelta(hours=n)
        slot = Slot(
            host_id=db_id(hosts[n % len(hosts)].id),
            specialization_id=db_id(spec),
            starts_at=start,
            ends_at=start + timedelta(minutes=30),
            duration_minutes=30,
            video_link="https://meet.example.com/x",
            status="BOOKED",
        )
        db_session.add(slot)
        await db_session.flush()
        interview = Interview(
            slot_id=slot.id,
            interviewer_id=slot.host_id,
            candidate_id=db_id(candidate.id),
            specialization_id=slot.specialization_id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
        )
        db_session.add(interview)
        await db_session.flush()
        for m in range(messages(n)):
            db_session.add(Message(interview_id=interview.id, author_id=slot.host_id, body=f"m{n}-{m}"))
    await db_session.flush()


async def test_my_interviews_statement_count_is_constant(
    client: GraphQLClient, db_session: AsyncSession, engine: AsyncEngine, clock: Clock
) -> None:
    candidate = await client.sign_up("cand")
    hosts = [await client.sign_up(f"host{i}") for i in range(7)]
    spec = await new_specialization(db_session)
    await booked_interviews(db_session, clock, candidate, hosts, spec, count=60, messages=lambda n: n % 8)
    counts = {}
    for first in (5, 50):
        with count_statements(engine) as statements:
            data = await client.data(FULL_PAGE, {"first": first}, token=candidate.access_token)
        assert len(data["myInterviews"]["edges"]) == first
        for edge in data["myInterviews"]["edges"]:
            bodies = [e["node"]["body"] for e in edge["node"]["messages"]["edges"]]
            assert len(bodies) <= 5
            assert len(edge["node"]["oldest"]["edges"]) <= 2
        counts[first] = len(
            [s for s in statements if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))]
        )
    assert counts[5] == counts[50], counts
    assert counts[50] <= 14, counts


PREFETCHED_PAGE = """query($last: Int, $after: String) { myInterviews(first: 10) { edges { node {
  ...Parts
  ... on Interview { latest: messages(last: $last) { edges { cursor node { id body createdAt } } pageInfo {
    hasPreviousPage hasNextPage startCursor endCursor } } }
  messages(first: 2, after: $after) { edges { node { body } } pageInfo { hasNextPage hasPreviousPage } }
  oldest: messages(first: 3) { edges { node { body } } }
} } } }
fragment Parts on Interview { id interviewer { id displayName email } candidate { displayName points }
  specialization { id name } }"""

ONE_INTERVIEW = """query($id: ID!, $last: Int, $after: String) { interview(id: $id) {
  ...Parts
  latest: messages(last: $last) { edges { cursor node { id body createdAt } } pageInfo {
    hasPreviousPage hasNextPage startCursor endCursor } }
  messages(first: 2, after: $after) { edges { node { body } } pageInfo { hasNextPage hasPreviousPage } }
  oldest: messages(first: 3) { edges { node { body } } }
} }
fragment Parts on Interview { id interviewer { id displayName email } candidate { displayName points }
  specialization { id name } }"""


async def test_my_interviews_prefetch_matches_single_interview_reads(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    """The page prefetches participants, topic and message pages (fragments, aliases, variables,
    literals); every node must read exactly as the same interview read through the loaders."""
    candidate = await client.sign_up("cand")
    hosts = [await client.sign_up(f"host{i}") for i in range(3)]
    spec = await new_specialization(db_session)
    await booked_interviews(db_session, clock, candidate, hosts, spec, count=6, messages=lambda n: n)
    token = candidate.access_token
    after_first = encode_cursor(1)  # message cursors are keyset cursors on the message id
    variables: dict[str, Any]
    for variables in ({"last": 2}, {"last": 0}, {"last": 3, "after": after_first}, {"last": None}, {}):
        page = await client.data(PREFETCHED_PAGE, variables, token=token)
        nodes = [e["node"] for e in page["myInterviews"]["edges"]]
        assert len(nodes) == 6
        for node in nodes:
            one = await client.data(ONE_INTERVIEW, {"id": node["id"], **variables}, token=token)
            assert one["interview"] == node
        assert nodes[0]["candidate"]["points"] is not None  # the viewer's own private field
        assert nodes[0]["interviewer"]["email"] is None  # another member's stays hidden
    bad = await client.execute(
        "{ myInterviews(first: 2) { edges { node { messages(first: 1, last: 1) { edges { cursor } } } } } }",
        token=token,
    )
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


LAST_MESSAGES = """query($id: ID!, $last: Int, $first: Int, $after: String) { interview(id: $id) {
  messages(last: $last, first: $first, after: $after) {
    edges { cursor node { body } } pageInfo { hasPreviousPage hasNextPage }
  }
} }"""


async def test_interview_messages_last_gives_the_newest_oldest_first(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, candidate = await client.sign_up("host"), await client.sign_up("cand")
    await grant(db_session, candidate, 1)
    spec = await new_specialization(db_session)
    interview = await book(client, candidate, await publish(client, host, spec, tomorrow(clock)))
    for m in range(7):
        db_session.add(Message(interview_id=db_id(interview["id"]), author_id=db_id(host.id), body=f"m{m}"))
    await db_session.flush()
    token = candidate.access_token

    async def page(**args: Any) -> tuple[list[str], dict[str, bool]]:
        data = await client.data(LAST_MESSAGES, {"id": interview["id"], **args}, token=token)
        messages = data["interview"]["messages"]
        return [e["node"]["body"] for e in messages["edges"]], messages["pageInfo"]

    assert await page(last=3) == (["m4", "m5", "m6"], {"hasPreviousPage": True, "hasNextPage": False})
    assert await page(last=10) == (
        [f"m{m}" for m in range(7)],
        {"hasPreviousPage": False, "hasNextPage": False},
    )
    first_two, info = await page(first=2)
    assert (first_two, info) == (["m0", "m1"], {"hasPreviousPage": False, "hasNextPage": True})
    data = await client.data(LAST_MESSAGES, {"id": interview["id"], "first": 2}, token=token)
    cursor = data["interview"]["messages"]["edges"][-1]["cursor"]
    assert (await page(first=2, after=cursor))[0] == ["m2", "m3"]
    assert (await page(last=2, after=cursor))[0] == ["m5", "m6"]
    assert await client.error_code(
        LAST_MESSAGES, {"id": interview["id"], "first": 1, "last": 1}, token=token
    ) == ("BAD_USER_INPUT")


async def test_interview_id_of_another_type_is_bad_input(client: GraphQLClient) -> None:
    member = await client.sign_up("m")
    query = "query($id: ID!) { interview(id: $id) { id } }"
    result = await client.execute(query, {"id": member.id}, token=member.access_token)
    assert result["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}


async def test_slot_and_interview_changes_are_published_after_commit(
    client: GraphQLClient, db_session: AsyncSession, app_state: Services, clock: Clock
) -> None:
    host, candidate = await client.sign_up("host"), await client.sign_up("cand")
    spec = await new_specialization(db_session)
    prefix = app_state.settings.redis_prefix
    async with app_state.hub.subscribe(f"{prefix}slots") as board:
        slot_id = await publish(client, host, spec, tomorrow(clock))
        published = await asyncio.wait_for(anext(board), 5)
        assert published == {"kind": "PUBLISHED", "slot_id": db_id(slot_id)}
        refused = await client.execute(
            CREATE_SLOT, {"input": slot_input(spec, tomorrow(clock))}, token=host.access_token
        )
        assert refused["errors"]  # a rolled-back change publishes nothing
        interview = await book(client, candidate, slot_id)
        assert await asyncio.wait_for(anext(board), 5) == {"kind": "BOOKED", "slot_id": db_id(slot_id)}
    async with app_state.hub.subscribe(f"{prefix}interview:{db_id(interview['id'])}") as updates:
        await client.data(CANCEL, {"id": interview["id"]}, token=candidate.access_token)
        assert await asyncio.wait_for(anext(updates), 5) == {"interview_id": db_id(interview["id"])}
