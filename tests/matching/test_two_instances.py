"""The matching queue through two app instances sharing PostgreSQL and Redis: 100 members joining at
once are paired with nobody left matchable and nobody matched twice, and `matchFound` reaches a
member connected to the other instance."""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.enums import LedgerKind
from db.models import Interview, Match, MatchTicket, PointsEntry, Specialization, User
from resolvers.points import change_balance
from schema.ids import to_global_id
from tests.helpers import Member, db_id
from tests.live.support import NOTIFICATION_ADDED, WsClient
from tests.marketplace_support import assert_ledger_consistent
from tests.matching.support import MATCH_FOUND, join
from tests.two_instances import Instances, two_instances

MEMBERS = 100
COST = 1  # BOOKING_COST_POINTS' default


@pytest.fixture(scope="module")
async def instances(postgres_server: str, redis_url: str) -> AsyncIterator[Instances]:
    async with two_instances(postgres_server, redis_url) as pair:
        yield pair


async def _specialization(engine: AsyncEngine, name: str) -> str:
    async with AsyncSession(engine) as session, session.begin():
        row = Specialization(name=name)
        session.add(row)
        await session.flush()
        return to_global_id("Specialization", row.id)


async def _take_points(engine: AsyncEngine, members: list[Member]) -> None:
    async with AsyncSession(engine) as session, session.begin():
        for member in members:
            await change_balance(
                session, db_id(member.id), -COST, LedgerKind.ADJUSTMENT, reason="test", uow=None
            )


def _choices(rng: random.Random) -> dict[str, Any]:
    choices: dict[str, Any] = {"role": rng.choice(["INTERVIEWER", "CANDIDATE", "EITHER", "EITHER"])}
    language = rng.choice([None, None, "en", "de"])
    if language:
        choices["language"] = language
    level = rng.choice([None, None, "JUNIOR", "SENIOR"])
    if level:
        choices["level"] = level
    return choices


def _may_be_interviewed(ticket: MatchTicket, balance: int) -> bool:
    return ticket.role in ("CANDIDATE", "EITHER") and balance >= COST


def _fits(a: MatchTicket, b: MatchTicket, balances: dict[int, int]) -> bool:
    """Whether two waiting tickets could still be paired (the rule written out independently)."""
    if a.language and b.language and a.language != b.language:
        return False
    if a.level and b.level and a.level != b.level:
        return False
    a_interviews = a.role in ("INTERVIEWER", "EITHER") and _may_be_interviewed(b, balances[b.user_id])
    b_interviews = b.role in ("INTERVIEWER", "EITHER") and _may_be_interviewed(a, balances[a.user_id])
    return a_interviews or b_interviews


async def _joined_at_once(instances: Instances, spec: str) -> list[Member]:
    a, b = instances.a, instances.b
    members = [await (a if n % 2 else b).http.sign_up(f"q{n}") for n in range(MEMBERS)]
    rng = random.Random(24)
    choices = [_choices(rng) for _ in members]
    broke = [
        m for m, c in zip(members, choices, strict=True) if c["role"] != "CANDIDATE" and rng.random() < 0.3
    ]
    await _take_points(a.engine, broke)

    async def one(n: int) -> dict[str, Any]:
        instance = a if n % 2 else b
        return await join(instance.http, members[n], spec, **choices[n])

    results = await asyncio.gather(*(one(n) for n in range(MEMBERS)))
    assert {r["status"] for r in results} <= {"WAITING", "MATCHED"}
    return members


async def test_a_hundred_members_joining_at_once_through_two_instances(instances: Instances) -> None:
    spec = await _specialization(instances.a.engine, "Hundred at once")
    await _joined_at_once(instances, spec)
    async with AsyncSession(instances.a.engine) as session:
        tickets = list((await session.scalars(select(MatchTicket))).all())
        balances = {row[0]: row[1] for row in await session.execute(select(User.id, User.points_balance))}
        matches = list((await session.scalars(select(Match))).all())
        interviews = {i.id: i for i in (await session.scalars(select(Interview))).all()}
        spends = Counter(
            e.interview_id
            for e in await session.scalars(select(PointsEntry).where(PointsEntry.kind == "SPEND"))
        )
        await assert_ledger_consistent(session)
    assert len(tickets) == MEMBERS
    assert len({t.user_id for t in tickets}) == MEMBERS
    by_match: defaultdict[int, list[MatchTicket]] = defaultdict(list)
    for t in tickets:
        if t.status == "MATCHED":
            assert t.match_id is not None
            by_match[t.match_id].append(t)
    assert set(by_match) == {m.id for m in matches}
    assert matches, "some members must have been paired"
    for match in matches:
        pair = by_match[match.id]
        assert len(pair) == 2
        assert pair[0].user_id != pair[1].user_id
        members = {t.user_id for t in pair}
        ids = [match.first_interview_id] + ([match.second_interview_id] if match.second_interview_id else [])
        for interview_id in ids:
            interview = interviews[interview_id]
            assert {interview.interviewer_id, interview.candidate_id} == members
            assert spends[interview_id] == 1  # the candidate paid once
    assert len(interviews) == sum(2 if m.second_interview_id else 1 for m in matches)
    waiting = [t for t in tickets if t.status == "WAITING"]
    for n, first in enumerate(waiting):
        for second in waiting[n + 1 :]:
            assert not _fits(first, second, balances), (first.id, second.id)


async def test_match_found_reaches_a_member_on_the_other_instance(instances: Instances) -> None:
    a, b = instances.a, instances.b
    spec = await _specialization(a.engine, "Live matching")
    host, cand = await a.http.sign_up("livehost"), await b.http.sign_up("livecand")
    ws = await WsClient.open(a.ws_url, token=host.access_token)
    await ws.acknowledged()
    await ws.subscribe(MATCH_FOUND)
    await ws.subscribe(NOTIFICATION_ADDED)
    await asyncio.sleep(0.3)  # the SUBSCRIBE reaches Redis
    await join(a.http, host, spec, "INTERVIEWER")
    ticket = await join(b.http, cand, spec, "CANDIDATE")  # paired on instance B
    received = [await ws.next_data(), await ws.next_data()]
    found = next(d["matchFound"] for d in received if "matchFound" in d)
    notified = next(d["notificationAdded"] for d in received if "notificationAdded" in d)
    assert found["partner"] == {"id": cand.id}
    assert found["specialization"] == {"id": spec}
    (interview,) = found["interviews"]
    assert interview["id"] == ticket["match"]["interviews"][0]["id"]
    assert interview["interviewer"] == {"id": host.id}
    assert interview["candidate"] == {"id": cand.id}
    assert notified["kind"] == "MATCH_FOUND"
    assert notified["payload"]["interviewId"] == interview["id"]
    await ws.close()


async def test_match_found_needs_a_signed_in_member(instances: Instances) -> None:
    ws = await WsClient.open(instances.b.ws_url)
    await ws.acknowledged()
    await ws.subscribe(MATCH_FOUND)
    refused = await ws.receive()
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    await ws.close()
