"""Blocking a member takes them off the calendar in the same transaction: their open slots are
withdrawn and their SCHEDULED interviews cancelled in either role, each candidate refunded once and
the other side told (docs/product.md, rule 18)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.clock import Clock
from app.core.events import Subscription
from db.models import AuditEntry, Interview, Notification, PointsEntry, Slot, User
from resolvers.interviews.lifecycle import refund_booking
from resolvers.unit_of_work import Services
from tests.helpers import GraphQLClient, db_id
from tests.marketplace_support import (
    BOOK_SLOT,
    OPEN_SLOTS,
    START,
    assert_ledger_consistent,
    book,
    new_specialization,
    points,
    publish,
    set_role,
    travel,
)

BLOCK = """mutation($u: ID!, $r: String!) { blockUser(userId: $u, reason: $r) { id isBlocked } }"""
UNBLOCK = "mutation($u: ID!) { unblockUser(userId: $u) { id isBlocked } }"
RECORD = "query($id: ID!) { user(id: $id) { stats { interviewerCancellations } } }"


async def _events(subscriptions: list[Subscription], wanted: int) -> list[dict[str, Any]]:
    """The next `wanted` events of any of `subscriptions` (within 5 seconds)."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def drain(subscription: Subscription) -> None:
        async for event in subscription:
            await queue.put(event)

    tasks = [asyncio.create_task(drain(s)) for s in subscriptions]
    try:
        return [await asyncio.wait_for(queue.get(), 5) for _ in range(wanted)]
    finally:
        for task in tasks:
            task.cancel()


async def _row(db_session: AsyncSession, model: Any, global_id: str) -> Any:
    row = await db_session.get(model, db_id(global_id), populate_existing=True)
    assert row is not None
    return row


async def _ledger(db_session: AsyncSession, interview_id: str) -> list[str]:
    kinds = await db_session.scalars(
        select(PointsEntry.kind).where(PointsEntry.interview_id == db_id(interview_id))
    )
    return sorted(kinds)


async def test_blocking_withdraws_open_slots_and_cancels_scheduled_interviews_in_either_role(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock, app_state: Services
) -> None:
    moderator, host, candidate, late, other_host = [
        await client.sign_up(n) for n in ("mod", "host", "cand", "late", "other")
    ]
    await set_role(db_session, moderator, "MODERATOR")
    spec = await new_specialization(db_session)
    tomorrow = (clock.now() + timedelta(days=1)).replace(microsecond=0)
    open_slot = await publish(client, host, spec, tomorrow)
    hosted = await book(client, candidate, await publish(client, host, spec, tomorrow + timedelta(hours=2)))
    other_slot = await publish(client, other_host, spec, tomorrow + timedelta(hours=4))
    taken = await book(client, host, other_slot)  # the member to block is the candidate here
    soon = (clock.now() + timedelta(hours=1)).replace(microsecond=0)
    running = await book(client, late, await publish(client, host, spec, soon))
    await travel(client, clock, timedelta(minutes=55), moderator, host, candidate, late, other_host)
    await client.data(START, {"id": running["id"]}, token=late.access_token)  # IN_PROGRESS: left alone
    assert (await points(client, candidate), await points(client, host)) == (0, 0)

    channels = app_state.channels
    watched = [channels.board(), *(channels.interview(db_id(i["id"])) for i in (hosted, taken))]
    async with contextlib.AsyncExitStack() as stack:
        subscriptions = [await stack.enter_async_context(app_state.hub.subscribe(c)) for c in watched]
        await asyncio.sleep(0.05)
        blocked = await client.data(BLOCK, {"u": host.id, "r": "abuse"}, token=moderator.access_token)
        assert blocked["blockUser"]["isBlocked"] is True
        events = await _events(subscriptions, 5)
    board = {(e["kind"], e["slot_id"]) for e in events if "slot_id" in e}
    assert board == {
        ("WITHDRAWN", db_id(open_slot)),
        ("WITHDRAWN", db_id(hosted["slot"]["id"])),
        ("REOPENED", db_id(other_slot)),
    }
    assert {e["interview_id"] for e in events if "interview_id" in e} == {
        db_id(hosted["id"]),
        db_id(taken["id"]),
    }

    assert (await _row(db_session, Slot, open_slot)).status == "WITHDRAWN"
    assert (await _row(db_session, Slot, hosted["slot"]["id"])).status == "WITHDRAWN"
    assert (await _row(db_session, Slot, other_slot)).status == "OPEN"  # another host's slot reopens
    assert (await _row(db_session, Slot, running["slot"]["id"])).status == "BOOKED"
    assert (await _row(db_session, Interview, running["id"])).status == "IN_PROGRESS"
    for interview in (hosted, taken):
        row = await _row(db_session, Interview, interview["id"])
        assert (row.status, row.cancelled_by_id) == ("CANCELLED", None)
        assert row.cancel_reason
        assert await _ledger(db_session, interview["id"]) == ["REFUND", "SPEND"]
    assert await points(client, candidate) == 1
    assert (await _row(db_session, User, host.id)).points_balance == 1  # refunded as a candidate too
    for member, interview in ((candidate, hosted), (other_host, taken)):
        kinds = await db_session.scalars(
            select(Notification.payload).where(
                Notification.user_id == db_id(member.id), Notification.kind == "CANCELLED"
            )
        )
        assert [p["interview_id"] for p in kinds] == [db_id(interview["id"])]
    # Not the interviewer's own cancellation: nothing on the reliability record.
    assert (await client.data(RECORD, {"id": host.id}))["user"]["stats"]["interviewerCancellations"] == 0
    board_now = (await client.data(OPEN_SLOTS, {"spec": spec}))["openSlots"]["edges"]
    assert [e["node"]["id"] for e in board_now] == [other_slot]
    assert await client.error_code(BOOK_SLOT, {"id": open_slot}, token=late.access_token) == "CONFLICT"
    details = await db_session.scalar(
        select(AuditEntry.details).where(
            AuditEntry.action == "user.blocked", AuditEntry.target_id == db_id(host.id)
        )
    )
    assert details is not None
    assert (details["cancelled_interviews"], details["withdrawn_slots"]) == (2, 2)

    # Blocking again refunds nothing twice.
    await client.data(UNBLOCK, {"u": host.id}, token=moderator.access_token)
    await client.data(BLOCK, {"u": host.id, "r": "again"}, token=moderator.access_token)
    for interview in (hosted, taken):
        assert await _ledger(db_session, interview["id"]) == ["REFUND", "SPEND"]
    assert await points(client, candidate) == 1
    await assert_ledger_consistent(db_session)


async def test_booking_refuses_a_slot_whose_host_is_blocked(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    """The backstop for a slot a block did not withdraw (e.g. one published while it committed)."""
    host, candidate = await client.sign_up("host"), await client.sign_up("cand")
    spec = await new_specialization(db_session)
    slot_id = await publish(client, host, spec, clock.now() + timedelta(days=1))
    host_row = User.id == db_id(host.id)
    await db_session.execute(update(User).where(host_row).values(blocked_at=clock.now()))
    await db_session.flush()
    result = await client.execute(BOOK_SLOT, {"id": slot_id}, token=candidate.access_token)
    assert result["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert result["errors"][0]["message"] == "This slot is no longer available."  # the block stays private
    assert await points(client, candidate) == 1
    # A temporary block that has ended no longer stands in the way.
    past = clock.now() - timedelta(minutes=1)
    await db_session.execute(update(User).where(host_row).values(blocked_until=past))
    await db_session.flush()
    assert (await book(client, candidate, slot_id))["status"] == "SCHEDULED"


async def test_a_refused_block_changes_nothing(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    """A moderator may not block an admin: the admin's slots and interviews stay as they were."""
    moderator, admin, candidate = [await client.sign_up(n) for n in ("mod", "admin", "cand")]
    await set_role(db_session, moderator, "MODERATOR")
    await set_role(db_session, admin, "ADMIN")
    spec = await new_specialization(db_session)
    start = clock.now() + timedelta(days=1)
    open_slot = await publish(client, admin, spec, start)
    interview = await book(client, candidate, await publish(client, admin, spec, start + timedelta(hours=2)))
    code = await client.error_code(BLOCK, {"u": admin.id, "r": "x"}, token=moderator.access_token)
    assert code == "FORBIDDEN"
    assert (await _row(db_session, Slot, open_slot)).status == "OPEN"
    assert (await _row(db_session, Interview, interview["id"])).status == "SCHEDULED"
    assert await points(client, candidate) == 0
    count = await db_session.scalar(
        select(func.count()).select_from(Interview).where(Interview.status == "CANCELLED")
    )
    assert count == 0


async def test_bookings_racing_a_block_never_leave_the_blocked_host_booked(
    committing_client: GraphQLClient, engine: AsyncEngine, clock: Clock
) -> None:
    """Real concurrent requests: members book a host's slots while a moderator blocks the host. Every
    booking either is refused or is cancelled and refunded by the block; no slot stays open."""
    client = committing_client
    async with AsyncSession(engine) as session:
        spec = await new_specialization(session)
        await session.commit()
    moderator, host = await client.sign_up("mod"), await client.sign_up("host")
    candidates = [await client.sign_up(f"cand{i}") for i in range(8)]
    async with AsyncSession(engine) as session:
        await set_role(session, moderator, "MODERATOR")
        await session.commit()
    start = (clock.now() + timedelta(days=1)).replace(microsecond=0)
    slots = [await publish(client, host, spec, start + timedelta(hours=i)) for i in range(len(candidates))]

    async def later(delay: float, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
        await asyncio.sleep(delay)  # staggered, so that bookings commit before, during and after the block
        return await client.execute(query, variables, token=token)

    block = later(0.02, BLOCK, {"u": host.id, "r": "abuse"}, moderator.access_token)
    bookings = [
        later(0.01 * i, BOOK_SLOT, {"id": s}, c.access_token)
        for i, (s, c) in enumerate(zip(slots, candidates, strict=True))
    ]
    blocked, *booked = await asyncio.gather(block, *bookings)
    assert not blocked.get("errors"), blocked
    assert all(not r.get("errors") or r["errors"][0]["extensions"]["code"] == "CONFLICT" for r in booked)
    async with AsyncSession(engine) as session:
        statuses = set(await session.scalars(select(Slot.status).where(Slot.host_id == db_id(host.id))))
        assert statuses == {"WITHDRAWN"}
        interviews = (
            await session.scalars(select(Interview).where(Interview.interviewer_id == db_id(host.id)))
        ).all()
        for interview in interviews:
            assert interview.status == "CANCELLED"
            kinds = await session.scalars(
                select(PointsEntry.kind).where(PointsEntry.interview_id == interview.id)
            )
            assert sorted(kinds) == ["REFUND", "SPEND"]
        balances = await session.scalars(
            select(User.points_balance).where(User.id.in_([db_id(c.id) for c in candidates]))
        )
        assert set(balances) == {1}
        await assert_ledger_consistent(session)


async def test_the_refund_helper_gives_a_booking_back_once(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    """`refund_booking`, shared by cancelling, no-shows and blocks, is a no-op for a refunded booking."""
    host, candidate = await client.sign_up("host"), await client.sign_up("cand")
    spec = await new_specialization(db_session)
    interview = await book(
        client, candidate, await publish(client, host, spec, clock.now() + timedelta(days=1))
    )
    row = await _row(db_session, Interview, interview["id"])
    for _ in range(2):
        await refund_booking(db_session, row, "test", uow=None)
    assert await _ledger(db_session, interview["id"]) == ["REFUND", "SPEND"]
    assert await points(client, candidate) == 1
    await assert_ledger_consistent(db_session)
