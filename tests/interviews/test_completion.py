"""No free points: an interview is completed, and its reward paid, no earlier than
COMPLETE_AFTER_MINUTES after its scheduled start (docs/product.md, rule 10)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from db.models import PointsEntry
from resolvers.unit_of_work import Services
from tests.helpers import GraphQLClient, db_id
from tests.marketplace_support import (
    COMPLETE,
    START,
    assert_ledger_consistent,
    book,
    new_specialization,
    points,
    publish,
    travel,
)


async def test_a_host_cannot_complete_a_throwaway_booking_right_after_it_starts(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, throwaway = await client.sign_up("host"), await client.sign_up("throwaway")
    spec = await new_specialization(db_session)
    start = (clock.now() + timedelta(hours=1)).replace(microsecond=0)
    interview_id = (await book(client, throwaway, await publish(client, host, spec, start)))["id"]
    await travel(client, clock, start - clock.now() + timedelta(seconds=1), host, throwaway)
    await client.data(START, {"id": interview_id}, token=host.access_token)
    before = await points(client, host)

    early = await client.execute(COMPLETE, {"id": interview_id}, token=host.access_token)
    [error] = early["errors"]
    assert error["extensions"]["code"] == "CONFLICT"
    assert "15 minutes after its scheduled start" in error["message"]
    opens = datetime.fromisoformat(error["extensions"]["opensAt"])
    assert opens == start + timedelta(minutes=15)

    await travel(client, clock, opens - clock.now() - timedelta(seconds=1), host)  # one second early
    assert await client.error_code(COMPLETE, {"id": interview_id}, token=host.access_token) == "CONFLICT"
    assert await points(client, host) == before  # no reward for the refused attempts

    await travel(client, clock, opens - clock.now(), host)  # exactly COMPLETE_AFTER_MINUTES after start
    done = (await client.data(COMPLETE, {"id": interview_id}, token=host.access_token))["completeInterview"]
    assert done["status"] == "COMPLETED"
    assert await points(client, host) == before + 1
    rewards = (
        await db_session.scalars(
            select(PointsEntry.kind).where(
                PointsEntry.interview_id == db_id(interview_id), PointsEntry.kind == "REWARD"
            )
        )
    ).all()
    assert rewards == ["REWARD"]
    await assert_ledger_consistent(db_session)


@pytest.fixture
def complete_after_30(app_state: Services) -> Iterator[None]:
    original = app_state.settings
    app_state.settings = original.model_copy(update={"complete_after_minutes": 30})
    yield
    app_state.settings = original


async def test_the_wait_is_the_complete_after_minutes_setting(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock, complete_after_30: None
) -> None:
    host, candidate = await client.sign_up("host"), await client.sign_up("cand")
    spec = await new_specialization(db_session)
    start = (clock.now() + timedelta(hours=1)).replace(microsecond=0)
    interview_id = (await book(client, candidate, await publish(client, host, spec, start)))["id"]
    await travel(client, clock, start - clock.now() + timedelta(minutes=20), host, candidate)
    await client.data(START, {"id": interview_id}, token=candidate.access_token)
    result = await client.execute(COMPLETE, {"id": interview_id}, token=host.access_token)
    assert result["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert "30 minutes" in result["errors"][0]["message"]
    await travel(client, clock, timedelta(minutes=10), host)
    done = (await client.data(COMPLETE, {"id": interview_id}, token=host.access_token))["completeInterview"]
    assert done["status"] == "COMPLETED"


async def test_completion_checks_role_and_status_before_the_clock(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    """The candidate is FORBIDDEN and an interview not started is a CONFLICT, whatever the time."""
    host, candidate, stranger = [await client.sign_up(n) for n in ("host", "cand", "stranger")]
    spec = await new_specialization(db_session)
    start = (clock.now() + timedelta(hours=1)).replace(microsecond=0)
    interview_id = (await book(client, candidate, await publish(client, host, spec, start)))["id"]
    await travel(client, clock, start - clock.now() + timedelta(minutes=20), host, candidate, stranger)
    assert await client.error_code(COMPLETE, {"id": interview_id}, token=host.access_token) == "CONFLICT"
    await client.data(START, {"id": interview_id}, token=host.access_token)
    for member, code in ((candidate, "FORBIDDEN"), (stranger, "NOT_FOUND")):
        assert await client.error_code(COMPLETE, {"id": interview_id}, token=member.access_token) == code
