"""Changing an open slot: the createSlot rules, host only, open slots only, announced on the board,
and never a booked slot changed, not even when a booking races the change (docs/product.md, rules 5-7)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.clock import Clock
from db.models import Interview, Slot
from resolvers.unit_of_work import Services
from tests.helpers import GraphQLClient, db_id
from tests.marketplace_support import (
    BOOK_SLOT,
    SLOT_FIELDS,
    WITHDRAW_SLOT,
    book,
    new_specialization,
    publish,
    tomorrow,
    travel,
)

UPDATE_SLOT = f"""mutation($id: ID!, $input: UpdateSlotInput!) {{
  updateSlot(id: $id, input: $input) {{ {SLOT_FIELDS} }} }}"""


async def test_host_changes_an_open_slot_and_the_board_hears_of_it(
    client: GraphQLClient, db_session: AsyncSession, app_state: Services, clock: Clock
) -> None:
    host = await client.sign_up("host")
    spec = await new_specialization(db_session)
    slot_id = await publish(client, host, spec, tomorrow(clock))
    new_start = tomorrow(clock, 5)
    changes = {
        "startsAt": new_start.isoformat(),
        "durationMinutes": 45,
        "videoLink": "https://meet.example.com/new",
        "title": "Moved",
    }
    async with app_state.hub.subscribe(app_state.channels.board()) as board:
        updated = (
            await client.data(UPDATE_SLOT, {"id": slot_id, "input": changes}, token=host.access_token)
        )["updateSlot"]
        event = await asyncio.wait_for(anext(board), 5)
    assert event == {"kind": "UPDATED", "slot_id": db_id(slot_id)}
    assert datetime.fromisoformat(updated["startsAt"]) == new_start
    assert datetime.fromisoformat(updated["endsAt"]) == new_start + timedelta(minutes=45)
    assert (updated["durationMinutes"], updated["videoLink"], updated["title"]) == (
        45,
        "https://meet.example.com/new",
        "Moved",
    )
    assert updated["description"] is None
    only_duration = await client.data(
        UPDATE_SLOT, {"id": slot_id, "input": {"durationMinutes": 90}}, token=host.access_token
    )
    assert datetime.fromisoformat(only_duration["updateSlot"]["endsAt"]) == new_start + timedelta(minutes=90)
    cleared = await client.data(UPDATE_SLOT, {"id": slot_id, "input": {"title": ""}}, token=host.access_token)
    assert cleared["updateSlot"]["title"] is None
    assert cleared["updateSlot"]["videoLink"] == "https://meet.example.com/new"


async def test_update_slot_applies_the_create_slot_rules(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, other = await client.sign_up("host"), await client.sign_up("other")
    spec = await new_specialization(db_session)
    slot_id = await publish(client, host, spec, tomorrow(clock))
    await publish(client, host, spec, tomorrow(clock, 3))
    bad: list[dict[str, Any]] = [
        {"startsAt": tomorrow(clock).replace(tzinfo=None).isoformat()},
        {"startsAt": (clock.now() - timedelta(minutes=1)).isoformat()},
        {"durationMinutes": 14},
        {"durationMinutes": 181},
        {"videoLink": "javascript:alert(1)"},
        {"title": "t" * 201},
        {"description": "d" * 2001},
    ]
    for changes in bad:
        result = await client.execute(UPDATE_SLOT, {"id": slot_id, "input": changes}, token=host.access_token)
        assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", changes
    overlap = {"startsAt": tomorrow(clock, 2.5).isoformat()}
    result = await client.execute(UPDATE_SLOT, {"id": slot_id, "input": overlap}, token=host.access_token)
    assert result["errors"][0]["extensions"] == {"code": "CONFLICT", "field": "startsAt"}
    assert await client.error_code(
        UPDATE_SLOT, {"id": slot_id, "input": {"title": "x"}}, token=other.access_token
    ) == ("FORBIDDEN")
    assert await client.error_code(UPDATE_SLOT, {"id": slot_id, "input": {"title": "x"}}) == "UNAUTHENTICATED"
    stored = await db_session.scalar(select(Slot).where(Slot.id == db_id(slot_id)))
    assert stored is not None
    assert stored.title == "Python deep dive"
    assert stored.duration_minutes == 60


async def test_booked_withdrawn_and_started_slots_cannot_change(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, candidate = await client.sign_up("host"), await client.sign_up("cand")
    spec = await new_specialization(db_session)
    booked = await publish(client, host, spec, tomorrow(clock))
    await book(client, candidate, booked)
    withdrawn = await publish(client, host, spec, tomorrow(clock, 2))
    await client.data(WITHDRAW_SLOT, {"id": withdrawn}, token=host.access_token)
    soon = await publish(client, host, spec, clock.now() + timedelta(minutes=30))
    await travel(client, clock, timedelta(minutes=31), host)
    for slot_id in (booked, withdrawn, soon):
        code = await client.error_code(
            UPDATE_SLOT, {"id": slot_id, "input": {"title": "x"}}, token=host.access_token
        )
        assert code == "CONFLICT", slot_id


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session


async def test_a_change_racing_bookings_never_changes_a_booked_slot(
    committing_client: GraphQLClient, committed: AsyncSession, engine: AsyncEngine, clock: Clock
) -> None:
    client = committing_client
    spec = await new_specialization(committed)
    await committed.commit()
    host, candidate = await client.sign_up("host"), await client.sign_up("cand")
    for round_ in range(5):
        start = tomorrow(clock, round_ * 4)
        slot_id = await publish(client, host, spec, start)
        moved = {"startsAt": (start + timedelta(hours=1)).isoformat(), "title": f"moved {round_}"}
        booking, change = await asyncio.gather(
            client.execute(BOOK_SLOT, {"id": slot_id}, token=candidate.access_token),
            client.execute(UPDATE_SLOT, {"id": slot_id, "input": moved}, token=host.access_token),
        )
        async with AsyncSession(engine) as session:
            slot = await session.scalar(select(Slot).where(Slot.id == db_id(slot_id)))
            interview = await session.scalar(select(Interview).where(Interview.slot_id == db_id(slot_id)))
        assert slot is not None
        assert interview is not None
        assert not booking.get("errors")
        assert slot.status == "BOOKED"
        # The interview keeps the times the candidate booked; the slot agrees with it.
        assert (interview.starts_at, interview.ends_at) == (slot.starts_at, slot.ends_at)
        if change.get("errors"):
            assert change["errors"][0]["extensions"]["code"] == "CONFLICT"
            assert slot.starts_at == start
            assert slot.title != f"moved {round_}"
        else:
            assert slot.title == f"moved {round_}"  # changed first, then booked as changed
        await client.data(
            "mutation($id: ID!) { cancelInterview(id: $id) { id } }",
            {"id": booking["data"]["bookSlot"]["id"]},
            token=candidate.access_token,
        )
