"""Slots: publishing (validation, overlaps, video link privacy), withdrawing and the open-slot board."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from db.models import Slot
from schema.ids import to_global_id
from tests.helpers import GraphQLClient
from tests.marketplace_support import (
    BOOK_SLOT,
    CREATE_SLOT,
    NODE,
    OPEN_SLOTS,
    WITHDRAW_SLOT,
    book,
    new_specialization,
    publish,
    slot_input,
    tomorrow,
)


async def test_create_slot_and_video_link_privacy(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, other = await client.sign_up("host"), await client.sign_up("other")
    spec = await new_specialization(db_session)
    start = tomorrow(clock).astimezone(ZoneInfo("Europe/Berlin"))
    created = (await client.data(CREATE_SLOT, {"input": slot_input(spec, start)}, token=host.access_token))[
        "createSlot"
    ]
    assert created["videoLink"] == "https://meet.example.com/room-1"
    assert created["isOpen"] is True
    assert created["status"] == "OPEN"
    assert created["durationMinutes"] == 60
    assert datetime.fromisoformat(created["startsAt"]) == start
    assert datetime.fromisoformat(created["startsAt"]).utcoffset() == timedelta(0)  # stored UTC
    assert created["host"]["id"] == host.id
    assert created["specialization"]["id"] == spec

    for token in (None, other.access_token):
        board = (await client.data(OPEN_SLOTS, {"spec": spec}, token=token))["openSlots"]
        assert [e["node"]["id"] for e in board["edges"]] == [created["id"]]
        assert board["edges"][0]["node"]["videoLink"] is None
    slot = (await client.data(NODE, {"id": created["id"]}))["node"]
    assert slot == {"id": created["id"]}


async def test_create_slot_validates_input(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host = await client.sign_up("host")
    spec = await new_specialization(db_session)
    start = tomorrow(clock)
    bad: list[dict[str, Any]] = [
        {"startsAt": start.replace(tzinfo=None).isoformat()},
        {"startsAt": (clock.now() - timedelta(minutes=1)).isoformat()},
        {"durationMinutes": 14},
        {"durationMinutes": 181},
        {"videoLink": "ftp://example.com/x"},
        {"videoLink": "javascript:alert(1)"},
        {"videoLink": "https://"},
        {"videoLink": "https://example.com/" + "a" * 2000},
        {"title": "t" * 201},
        {"description": "d" * 2001},
        {"specializationId": "not-an-id"},
    ]
    for override in bad:
        result = await client.execute(
            CREATE_SLOT, {"input": slot_input(spec, start, **override)}, token=host.access_token
        )
        assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", override
    code = await client.error_code(CREATE_SLOT, {"input": slot_input(spec, start)})
    assert code == "UNAUTHENTICATED"
    assert await db_session.scalar(select(func.count()).select_from(Slot)) == 0


async def test_host_cannot_have_overlapping_slots(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host = await client.sign_up("host")
    spec = await new_specialization(db_session)
    first = await publish(client, host, spec, tomorrow(clock))
    overlapping = {"input": slot_input(spec, tomorrow(clock, 0.5), minutes=30)}
    assert await client.error_code(CREATE_SLOT, overlapping, token=host.access_token) == "CONFLICT"
    await publish(client, host, spec, tomorrow(clock, 1))  # back to back is fine
    await client.data(WITHDRAW_SLOT, {"id": first}, token=host.access_token)
    await client.data(CREATE_SLOT, overlapping, token=host.access_token)


async def test_withdraw_slot_rules(client: GraphQLClient, db_session: AsyncSession, clock: Clock) -> None:
    host, other = await client.sign_up("host"), await client.sign_up("other")
    spec = await new_specialization(db_session)
    slot_id = await publish(client, host, spec, tomorrow(clock))
    assert await client.error_code(WITHDRAW_SLOT, {"id": slot_id}, token=other.access_token) == "FORBIDDEN"
    withdrawn = (await client.data(WITHDRAW_SLOT, {"id": slot_id}, token=host.access_token))["withdrawSlot"]
    assert withdrawn["status"] == "WITHDRAWN"
    assert withdrawn["isOpen"] is False
    assert await client.error_code(WITHDRAW_SLOT, {"id": slot_id}, token=host.access_token) == "CONFLICT"
    assert (await client.data(OPEN_SLOTS, {"spec": spec}))["openSlots"]["edges"] == []
    assert await client.error_code(BOOK_SLOT, {"id": slot_id}, token=other.access_token) == "CONFLICT"

    booked = await publish(client, host, spec, tomorrow(clock, 3))
    await book(client, other, booked)
    assert await client.error_code(WITHDRAW_SLOT, {"id": booked}, token=host.access_token) == "CONFLICT"


async def test_open_slots_filters_and_pagination(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host = await client.sign_up("host")
    spec = await new_specialization(db_session)
    base = tomorrow(clock)  # one anchor: back-to-back hours would overlap if the clock ticked between them
    ids = [await publish(client, host, spec, base + timedelta(hours=h)) for h in (3, 1, 2)]
    unknown = {"spec": to_global_id("Specialization", 10**9)}
    assert (await client.data(OPEN_SLOTS, unknown))["openSlots"]["edges"] == []
    expected = [ids[1], ids[2], ids[0]]
    page = (await client.data(OPEN_SLOTS, {"spec": spec, "first": 2}))["openSlots"]
    assert [e["node"]["id"] for e in page["edges"]] == expected[:2]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await client.data(OPEN_SLOTS, {"spec": spec, "after": page["pageInfo"]["endCursor"]})
    assert [e["node"]["id"] for e in rest["openSlots"]["edges"]] == expected[2:]
    window = {"spec": spec, "sa": tomorrow(clock, 1.5).isoformat(), "sb": tomorrow(clock, 2.5).isoformat()}
    assert [e["node"]["id"] for e in (await client.data(OPEN_SLOTS, window))["openSlots"]["edges"]] == [
        ids[2]
    ]
    assert await client.error_code(OPEN_SLOTS, {"first": 101}) == "BAD_USER_INPUT"
    assert await client.error_code(OPEN_SLOTS, {"after": "garbage"}) == "BAD_USER_INPUT"
    clock.shift(timedelta(days=1, hours=1, minutes=30))  # the earliest has started
    remaining = (await client.data(OPEN_SLOTS, {"spec": spec}))["openSlots"]["edges"]
    assert [e["node"]["id"] for e in remaining] == [ids[2], ids[0]]
