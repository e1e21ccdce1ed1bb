"""Notifications: sent by the marketplace operations, listed newest first, marked read (own only)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from db.models import Notification
from schema.ids import to_global_id
from tests.helpers import GraphQLClient, Member, db_id
from tests.marketplace_support import ADJUST, CANCEL, book, new_specialization, publish, set_role

LIST = """query($unread: Boolean, $first: Int, $after: String) {
  notifications(unreadOnly: $unread, first: $first, after: $after) {
    edges { node { id kind payload readAt } } pageInfo { hasNextPage endCursor } } }"""
MARK = "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) }"


async def nodes(client: GraphQLClient, member: Member, **variables: Any) -> list[dict[str, Any]]:
    data = await client.data(LIST, variables, token=member.access_token)
    return [edge["node"] for edge in data["notifications"]["edges"]]


async def test_booking_and_cancellation_notify_the_other_party(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, candidate = await client.sign_up("host"), await client.sign_up("cand")
    spec = await new_specialization(db_session)
    slot_id = await publish(client, host, spec, (clock.now() + timedelta(days=1)).replace(microsecond=0))
    interview = await book(client, candidate, slot_id)
    [booked] = await nodes(client, host)
    assert booked["kind"] == "BOOKED"
    assert booked["payload"]["interviewId"] == interview["id"]
    assert booked["readAt"] is None
    # The candidate's confirmation and the point it cost (docs/product.md, rule 26).
    confirmed, spent = await nodes(client, candidate)
    assert confirmed["kind"] == "BOOKING_CONFIRMED"
    assert confirmed["payload"]["interviewId"] == interview["id"]
    assert (spent["kind"], spent["payload"]["ledgerKind"], spent["payload"]["amount"]) == (
        "POINTS_CHANGED",
        "SPEND",
        -1,
    )
    await client.data(CANCEL, {"id": interview["id"], "r": "sick"}, token=candidate.access_token)
    kinds = [n["kind"] for n in await nodes(client, host)]
    assert kinds == ["CANCELLED", "BOOKED"]  # newest first
    refund = (await nodes(client, candidate))[0]
    assert (refund["kind"], refund["payload"]["ledgerKind"], refund["payload"]["amount"]) == (
        "POINTS_CHANGED",
        "REFUND",
        1,
    )
    assert (await nodes(client, host))[0]["payload"]["reason"] == "sick"


async def test_points_adjustment_notifies_and_mark_read_is_own_only(
    client: GraphQLClient, db_session: AsyncSession
) -> None:
    admin, member, other = [await client.sign_up(n) for n in ("admin", "member", "other")]
    await set_role(db_session, admin, "ADMIN")
    for amount in (2, 3, -1):
        await client.data(
            ADJUST, {"id": member.id, "amount": amount, "reason": "promo"}, token=admin.access_token
        )
    items = await nodes(client, member)
    assert [n["payload"]["amount"] for n in items] == [-1, 3, 2]
    assert {n["kind"] for n in items} == {"POINTS_CHANGED"}
    ids = [n["id"] for n in items]
    # Someone else's IDs change nothing.
    assert (await client.data(MARK, {"ids": ids}, token=other.access_token))["markNotificationsRead"] == 0
    assert (await client.data(MARK, {"ids": ids[:2]}, token=member.access_token))[
        "markNotificationsRead"
    ] == 2
    assert (await client.data(MARK, {"ids": ids}, token=member.access_token))["markNotificationsRead"] == 1
    unread = await nodes(client, member, unread=True)
    assert unread == []
    assert all(n["readAt"] for n in await nodes(client, member))


async def test_notifications_page_with_keyset_cursors(
    client: GraphQLClient, db_session: AsyncSession
) -> None:
    admin, member = await client.sign_up("admin"), await client.sign_up("member")
    await set_role(db_session, admin, "ADMIN")
    for amount in range(1, 6):
        await client.data(
            ADJUST, {"id": member.id, "amount": amount, "reason": "r"}, token=admin.access_token
        )
    first = await client.data(LIST, {"first": 2}, token=member.access_token)
    page = first["notifications"]
    assert [e["node"]["payload"]["amount"] for e in page["edges"]] == [5, 4]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await nodes(client, member, after=page["pageInfo"]["endCursor"])
    assert [n["payload"]["amount"] for n in rest] == [3, 2, 1]
    assert await client.error_code(LIST, {"after": "garbage"}, token=member.access_token) == "BAD_USER_INPUT"
    assert await client.error_code(LIST) == "UNAUTHENTICATED"
    assert await client.error_code(MARK, {"ids": ["bm9wZQ=="]}, token=member.access_token) == "BAD_USER_INPUT"


async def test_payloads_store_database_ids_and_show_global_ids(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, candidate, admin = [await client.sign_up(n) for n in ("host", "cand", "admin")]
    await set_role(db_session, admin, "ADMIN")
    spec = await new_specialization(db_session)
    slot_id = await publish(client, host, spec, (clock.now() + timedelta(days=1)).replace(microsecond=0))
    interview = await book(client, candidate, slot_id)
    await client.data(ADJUST, {"id": host.id, "amount": 2, "reason": "promo"}, token=admin.access_token)
    mine = select(Notification.payload).where(Notification.user_id == db_id(host.id))
    stored = (await db_session.scalars(mine.order_by(Notification.id))).all()
    interview_id = db_id(interview["id"])
    assert stored[0] == {"interview_id": interview_id, "starts_at": stored[0]["starts_at"]}
    assert stored[1] == {
        "amount": 2,
        "balance_after": stored[1]["balance_after"],
        "reason": "promo",
        "ledger_kind": "ADJUSTMENT",
    }
    points_changed, booked = await nodes(client, host)
    assert booked["payload"] == {
        "interviewId": to_global_id("Interview", interview_id),
        "startsAt": stored[0]["starts_at"],
    }
    assert booked["payload"]["interviewId"] == interview["id"]
    assert points_changed["payload"] == {
        "amount": 2,
        "balanceAfter": stored[1]["balance_after"],
        "reason": "promo",
        "ledgerKind": "ADJUSTMENT",
    }
