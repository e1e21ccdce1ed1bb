"""The matching queue's tickets (docs/product.md, rule 24): joining again, leaving, expiry, who may
join, the estimated wait, and who sees a ticket."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from db.models import Specialization, User
from schema.ids import to_global_id
from tests.helpers import GraphQLClient, db_id
from tests.marketplace_support import book, new_specialization, publish, set_role, travel
from tests.matching.support import JOIN, LEAVE, join, join_input, ticket

TTL = timedelta(seconds=600)  # MATCH_TICKET_TTL_SECONDS' default
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"


async def test_joining_again_returns_the_same_ticket_or_conflicts(
    client: GraphQLClient, db_session: AsyncSession
) -> None:
    spec = await new_specialization(db_session)
    member = await client.sign_up("twice")
    first = await join(client, member, spec, "CANDIDATE", language="en")
    assert (await join(client, member, spec, "CANDIDATE", language="EN"))["id"] == first["id"]
    other = join_input(spec, "INTERVIEWER")
    assert await client.error_code(JOIN, {"input": other}, token=member.access_token) == "CONFLICT"


async def test_leaving_cancels_the_ticket_and_nobody_pairs_with_it(
    client: GraphQLClient, db_session: AsyncSession
) -> None:
    spec = await new_specialization(db_session)
    leaver, host = await client.sign_up("leaver"), await client.sign_up("host")
    await join(client, leaver, spec, "CANDIDATE")
    assert (await client.data(LEAVE, token=leaver.access_token))["leaveMatchQueue"] is True
    assert (await client.data(LEAVE, token=leaver.access_token))["leaveMatchQueue"] is False
    left = await ticket(client, leaver)
    assert left is not None
    assert left["status"] == "CANCELLED"
    assert left["position"] is None
    assert (await join(client, host, spec, "INTERVIEWER"))["status"] == "WAITING"
    # Leaving after being matched changes nothing.
    cand = await client.sign_up("cand")
    assert (await join(client, cand, spec, "CANDIDATE"))["status"] == "MATCHED"
    assert (await client.data(LEAVE, token=cand.access_token))["leaveMatchQueue"] is False
    assert (await ticket(client, cand))["status"] == "MATCHED"  # type: ignore[index]


async def test_tickets_expire_after_the_configured_wait(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    spec = await new_specialization(db_session)
    sleepy, host = await client.sign_up("sleepy"), await client.sign_up("host")
    waiting = await join(client, sleepy, spec, "CANDIDATE")
    assert waiting["expiresAt"] > waiting["createdAt"]
    await travel(client, clock, TTL + timedelta(seconds=1), sleepy, host)
    expired = await ticket(client, sleepy)
    assert expired is not None
    assert expired["status"] == "EXPIRED"
    assert expired["position"] is None
    assert (await join(client, host, spec, "INTERVIEWER"))["status"] == "WAITING"  # not paired with it
    assert (await client.data(LEAVE, token=sleepy.access_token))["leaveMatchQueue"] is False
    # The member may join again, and is paired with the host who now waits.
    again = await join(client, sleepy, spec, "CANDIDATE")
    assert again["id"] != waiting["id"]
    assert again["match"]["partner"] == {"id": host.id}


async def test_who_may_join(client: GraphQLClient, db_session: AsyncSession, clock: Clock) -> None:
    spec = await new_specialization(db_session)
    member = await client.sign_up("member")

    async def code(**values: object) -> str:
        variables = {"input": {**join_input(spec, "INTERVIEWER"), **values}}
        return await client.error_code(JOIN, variables, token=member.access_token)

    assert await client.error_code(JOIN, {"input": join_input(spec, "CANDIDATE")}) == "UNAUTHENTICATED"
    assert await code(durationMinutes=14) == "BAD_USER_INPUT"
    assert await code(durationMinutes=181) == "BAD_USER_INPUT"
    assert await code(language="x" * 41) == "BAD_USER_INPUT"
    assert await code(videoLink="ftp://example.com/room") == "BAD_USER_INPUT"
    assert await code(specializationId=to_global_id("Specialization", 2**62)) == "BAD_USER_INPUT"
    assert await code(specializationId=to_global_id("Slot", 1)) == "BAD_USER_INPUT"
    await db_session.execute(
        update(Specialization).where(Specialization.id == db_id(spec)).values(archived_at=clock.now())
    )
    assert await code() == "CONFLICT"
    assert await ticket(client, member) is None
    await db_session.execute(update(User).where(User.id == db_id(member.id)).values(blocked_at=clock.now()))
    assert await code() == "FORBIDDEN"


async def test_a_member_busy_now_cannot_join_and_a_busy_partner_is_passed_over(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    spec = await new_specialization(db_session)
    host, cand, busy_host, free_host = [await client.sign_up(n) for n in ("host", "cand", "busy", "free")]
    slot = await publish(client, host, spec, clock.now() + timedelta(minutes=5))
    await book(client, cand, slot)
    refused = await client.error_code(
        JOIN, {"input": join_input(spec, "INTERVIEWER")}, token=cand.access_token
    )
    assert refused == "CONFLICT"  # their booked interview starts within the match's 30 minutes
    # A waiting interviewer who publishes a slot starting now-ish is skipped, not paired.
    await join(client, busy_host, spec, "INTERVIEWER")
    await publish(client, busy_host, spec, clock.now() + timedelta(minutes=10))
    await join(client, free_host, spec, "INTERVIEWER")
    other = await client.sign_up("other")
    assert (await join(client, other, spec, "CANDIDATE"))["match"]["partner"] == {"id": free_host.id}


async def test_a_member_blocked_while_waiting_is_not_paired(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    spec = await new_specialization(db_session)
    blocked, host = await client.sign_up("blocked"), await client.sign_up("host")
    await join(client, blocked, spec, "CANDIDATE")
    await db_session.execute(update(User).where(User.id == db_id(blocked.id)).values(blocked_at=clock.now()))
    assert (await join(client, host, spec, "INTERVIEWER"))["status"] == "WAITING"


async def test_the_estimated_wait_follows_recent_matches(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    spec = await new_specialization(db_session)
    early, host, late = [await client.sign_up(n) for n in ("early", "host", "late")]
    await join(client, early, spec, "CANDIDATE")
    await travel(client, clock, timedelta(seconds=120), early, host, late)
    await join(client, host, spec, "INTERVIEWER")  # the early candidate waited 120 s
    waiting = await join(client, late, spec, "CANDIDATE")
    assert waiting["estimatedWaitSeconds"] == 120
    clock.shift(timedelta(seconds=50))
    assert (await ticket(client, late))["estimatedWaitSeconds"] == 70  # type: ignore[index]
    clock.shift(timedelta(seconds=100))
    assert (await ticket(client, late))["estimatedWaitSeconds"] == 0  # type: ignore[index]


async def test_a_ticket_is_seen_by_its_member_and_admins_only(
    client: GraphQLClient, db_session: AsyncSession
) -> None:
    spec = await new_specialization(db_session)
    owner, stranger, admin = [await client.sign_up(n) for n in ("owner", "stranger", "admin")]
    await set_role(db_session, admin, "ADMIN")
    ticket_id = (await join(client, owner, spec, "CANDIDATE"))["id"]
    seen = {"__typename": "MatchTicket", "id": ticket_id}
    assert (await client.data(NODE, {"id": ticket_id}, token=owner.access_token))["node"] == seen
    assert (await client.data(NODE, {"id": ticket_id}, token=admin.access_token))["node"] == seen
    assert (await client.data(NODE, {"id": ticket_id}, token=stranger.access_token))["node"] is None
    assert (await client.data(NODE, {"id": ticket_id}))["node"] is None
    assert await ticket(client, stranger) is None
