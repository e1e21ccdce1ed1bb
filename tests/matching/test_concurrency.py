"""The matching queue under concurrent requests on the real database (committing): simultaneous
joins pair everyone they can, a leave racing a pairing either leaves or is matched, and a member
joining twice at once holds one ticket."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.models import Interview, MatchTicket, Specialization
from schema.ids import to_global_id
from tests.helpers import GraphQLClient, Member
from tests.marketplace_support import assert_ledger_consistent
from tests.matching.support import JOIN, LEAVE, join_input


async def _specialization(engine: AsyncEngine) -> str:
    async with AsyncSession(engine) as session, session.begin():
        row = Specialization(name="Concurrent matching")
        session.add(row)
        await session.flush()
        return to_global_id("Specialization", row.id)


async def _join(client: GraphQLClient, member: Member, spec: str, role: str) -> dict[str, Any]:
    return await client.execute(JOIN, {"input": join_input(spec, role)}, token=member.access_token)


async def test_simultaneous_joins_pair_everyone_once(
    committing_client: GraphQLClient, engine: AsyncEngine
) -> None:
    client = committing_client
    spec = await _specialization(engine)
    members = [await client.sign_up(f"m{n}") for n in range(20)]
    roles = ["INTERVIEWER" if n % 2 else "CANDIDATE" for n in range(20)]
    results = await asyncio.gather(*(_join(client, m, spec, r) for m, r in zip(members, roles, strict=True)))
    assert all(not r.get("errors") for r in results), results
    async with AsyncSession(engine) as session:
        statuses = (
            await session.execute(select(MatchTicket.status, func.count()).group_by(MatchTicket.status))
        ).all()
        assert dict(statuses) == {"MATCHED": 20}
        assert await session.scalar(select(func.count()).select_from(Interview)) == 10
        pairs = (await session.execute(select(Interview.interviewer_id, Interview.candidate_id))).all()
        assert len({user for pair in pairs for user in pair}) == 20  # nobody in two interviews
        await assert_ledger_consistent(session)


async def test_a_leave_racing_a_pairing_either_leaves_or_is_matched(
    committing_client: GraphQLClient, engine: AsyncEngine
) -> None:
    client = committing_client
    spec = await _specialization(engine)
    outcomes: set[tuple[bool, str]] = set()
    for _ in range(6):
        waiting, joiner = await client.sign_up("waiting"), await client.sign_up("joiner")
        await _join(client, waiting, spec, "CANDIDATE")
        left, joined = await asyncio.gather(
            client.data(LEAVE, token=waiting.access_token), _join(client, joiner, spec, "INTERVIEWER")
        )
        status = joined["data"]["joinMatchQueue"]["status"]
        outcomes.add((left["leaveMatchQueue"], status))
        if status == "WAITING":  # the joiner waits on for the next round's candidate otherwise
            await client.data(LEAVE, token=joiner.access_token)
    assert outcomes <= {(True, "WAITING"), (False, "MATCHED")}


async def test_a_member_joining_twice_at_once_holds_one_ticket(
    committing_client: GraphQLClient, engine: AsyncEngine
) -> None:
    client = committing_client
    spec = await _specialization(engine)
    member = await client.sign_up("eager")
    results = await asyncio.gather(*(_join(client, member, spec, "CANDIDATE") for _ in range(5)))
    assert {r["data"]["joinMatchQueue"]["id"] for r in results} == {
        results[0]["data"]["joinMatchQueue"]["id"]
    }
    async with AsyncSession(engine) as session:
        assert await session.scalar(select(func.count()).select_from(MatchTicket)) == 1
