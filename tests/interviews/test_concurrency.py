"""Real concurrent requests against the real database (docs/product.md, rules 2, 3, 6, 7, 9, 10)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.clock import Clock
from db.models import Interview, PointsEntry
from resolvers.unit_of_work import Services
from tests.helpers import GraphQLClient, Member, db_id
from tests.marketplace_support import (
    BOOK_SLOT,
    CANCEL,
    COMPLETE,
    START,
    assert_ledger_consistent,
    book,
    grant,
    new_specialization,
    publish,
    travel,
)


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose commits are real (the committing_client fixture empties the tables after)."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session


async def check_ledger(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session:
        await assert_ledger_consistent(session)


async def spec_id(session: AsyncSession) -> str:
    spec = await new_specialization(session)
    await session.commit()
    return spec


def codes(results: list[dict[str, Any]]) -> list[str | None]:
    return [r["errors"][0]["extensions"]["code"] if r.get("errors") else None for r in results]


async def count(engine: AsyncEngine, model: Any, *where: Any) -> int:
    async with AsyncSession(engine) as session:
        value = await session.scalar(select(func.count()).select_from(model).where(*where))
        return int(value or 0)


async def test_twenty_members_booking_one_slot(
    committing_client: GraphQLClient, committed: AsyncSession, engine: AsyncEngine, clock: Clock
) -> None:
    client = committing_client
    spec = await spec_id(committed)
    host = await client.sign_up("host")
    members = [await client.sign_up(f"m{i}") for i in range(20)]
    slot_id = await publish(client, host, spec, clock.now() + timedelta(days=1))
    results = await asyncio.gather(
        *(client.execute(BOOK_SLOT, {"id": slot_id}, token=m.access_token) for m in members)
    )
    outcome = codes(list(results))
    assert outcome.count(None) == 1, outcome
    assert outcome.count("CONFLICT") == 19, outcome
    assert await count(engine, Interview) == 1
    assert await count(engine, PointsEntry, PointsEntry.kind == "SPEND") == 1
    await check_ledger(engine)


async def test_one_member_booking_five_overlapping_slots(
    committing_client: GraphQLClient, committed: AsyncSession, engine: AsyncEngine, clock: Clock
) -> None:
    client = committing_client
    spec = await spec_id(committed)
    candidate = await client.sign_up("cand")
    await grant(committed, candidate, 10)
    await committed.commit()
    base = clock.now() + timedelta(days=1)
    slots = []
    for i in range(5):
        host = await client.sign_up(f"host{i}")
        slots.append(await publish(client, host, spec, base + timedelta(minutes=10 * i)))
    results = await asyncio.gather(
        *(client.execute(BOOK_SLOT, {"id": s}, token=candidate.access_token) for s in slots)
    )
    outcome = codes(list(results))
    assert outcome.count(None) <= 1, outcome
    assert all(code in (None, "CONFLICT") for code in outcome), outcome
    booked = await count(engine, Interview)
    assert booked == outcome.count(None)
    assert await count(engine, PointsEntry, PointsEntry.kind == "SPEND") == booked
    await check_ledger(engine)


@pytest.fixture
def no_cutoff(app_state: Services) -> Iterator[None]:
    """Candidates may cancel until the start, so cancel and start/complete can genuinely race."""
    original = app_state.settings
    app_state.settings = original.model_copy(update={"cancellation_cutoff_minutes": 0})
    yield
    app_state.settings = original


async def _race_pair(
    client: GraphQLClient, host: Member, candidate: Member, interview_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    cancel, started = await asyncio.gather(
        client.execute(CANCEL, {"id": interview_id}, token=candidate.access_token),
        client.execute(START, {"id": interview_id}, token=host.access_token),
    )
    return cancel, started


async def test_candidate_cancel_races_interviewer_completion(
    committing_client: GraphQLClient,
    committed: AsyncSession,
    engine: AsyncEngine,
    clock: Clock,
    no_cutoff: None,
) -> None:
    client = committing_client
    spec = await spec_id(committed)
    host, candidate = await client.sign_up("host"), await client.sign_up("cand")
    await grant(committed, candidate, 10)
    await committed.commit()
    start = clock.now() + timedelta(hours=2)
    interviews = []
    for i in range(4):
        slot = await publish(client, host, spec, start + timedelta(hours=i))
        interviews.append((await book(client, candidate, slot))["id"])
    await travel(client, clock, timedelta(hours=2) - timedelta(minutes=5), host, candidate)

    # 1. Candidate cancel against interviewer start: exactly one wins. A started interview can be
    #    completed from COMPLETE_AFTER_MINUTES (15) after its scheduled start (rule 10), a cancelled
    #    one never.
    cancel, started = await _race_pair(client, host, candidate, interviews[0])
    cancel_won = not cancel.get("errors")
    start_won = not started.get("errors")
    assert cancel_won != start_won, (cancel, started)
    await travel(client, clock, timedelta(minutes=20), host, candidate)
    completed = await client.execute(COMPLETE, {"id": interviews[0]}, token=host.access_token)
    assert (not completed.get("errors")) == start_won, (cancel, started, completed)

    # 2. Candidate cancel against completes of a started interview: exactly one wins.
    await travel(client, clock, timedelta(minutes=40), host, candidate)  # 5 minutes before it starts
    await client.data(START, {"id": interviews[1]}, token=host.access_token)
    await travel(client, clock, timedelta(minutes=20), host, candidate)
    results = await asyncio.gather(
        client.execute(CANCEL, {"id": interviews[1]}, token=candidate.access_token),
        client.execute(COMPLETE, {"id": interviews[1]}, token=host.access_token),
        client.execute(COMPLETE, {"id": interviews[1]}, token=host.access_token),
    )
    assert codes(list(results)).count(None) == 1, results

    # 3. Both sides cancel at once: one cancellation, one refund.
    results = await asyncio.gather(
        client.execute(CANCEL, {"id": interviews[3]}, token=candidate.access_token),
        client.execute(CANCEL, {"id": interviews[3]}, token=host.access_token),
        client.execute(CANCEL, {"id": interviews[3]}, token=candidate.access_token),
    )
    assert codes(list(results)).count(None) == 1, results

    async with AsyncSession(engine) as session:
        for interview_id in (interviews[0], interviews[1], interviews[3]):
            key = db_id(interview_id)
            status = await session.scalar(select(Interview.status).where(Interview.id == key))
            kinds = (
                await session.scalars(select(PointsEntry.kind).where(PointsEntry.interview_id == key))
            ).all()
            if status == "CANCELLED":
                assert sorted(kinds) == ["REFUND", "SPEND"], (status, kinds)
            else:
                assert status == "COMPLETED"
                assert sorted(kinds) == ["REWARD", "SPEND"], (status, kinds)
    await check_ledger(engine)
