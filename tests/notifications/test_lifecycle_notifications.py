"""Every lifecycle change and ledger movement notifies the members it affects (docs/product.md,
rule 26): start, completion with its reward, a no-show report."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from tests.helpers import GraphQLClient, Member
from tests.marketplace_support import (
    COMPLETE,
    REPORT_NO_SHOW,
    START,
    book,
    new_specialization,
    publish,
    travel,
)

LIST = "query { notifications(first: 20) { edges { node { kind payload } } } }"


async def kinds(client: GraphQLClient, member: Member) -> list[tuple[str, Any]]:
    data = await client.data(LIST, token=member.access_token)
    return [
        (e["node"]["kind"], e["node"]["payload"].get("ledgerKind")) for e in data["notifications"]["edges"]
    ]


async def test_start_completion_and_reward_notify_the_affected_members(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, candidate = await client.sign_up("host"), await client.sign_up("cand")
    spec = await new_specialization(db_session)
    starts = (clock.now() + timedelta(hours=3)).replace(microsecond=0)
    interview = await book(client, candidate, await publish(client, host, spec, starts))
    await travel(client, clock, timedelta(hours=3, minutes=1), host, candidate)
    await client.data(START, {"id": interview["id"]}, token=candidate.access_token)
    assert (await kinds(client, host))[0] == ("INTERVIEW_STARTED", None)  # the other participant
    await travel(client, clock, timedelta(minutes=20), host, candidate)
    await client.data(COMPLETE, {"id": interview["id"]}, token=host.access_token)
    assert (await kinds(client, host))[:2] == [("POINTS_CHANGED", "REWARD"), ("INTERVIEW_STARTED", None)]
    assert await kinds(client, candidate) == [
        ("INTERVIEW_COMPLETED", None),
        ("BOOKING_CONFIRMED", None),
        ("POINTS_CHANGED", "SPEND"),
    ]


async def test_a_no_show_report_notifies_the_accused(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, candidate = await client.sign_up("host"), await client.sign_up("cand")
    spec = await new_specialization(db_session)
    starts = (clock.now() + timedelta(hours=5)).replace(microsecond=0)
    interview = await book(client, candidate, await publish(client, host, spec, starts))
    await travel(client, clock, timedelta(hours=5, minutes=15), host, candidate)
    await client.data(REPORT_NO_SHOW, {"id": interview["id"], "r": "absent"}, token=host.access_token)
    data = await client.data(LIST, token=candidate.access_token)
    latest = data["notifications"]["edges"][0]["node"]
    assert latest["kind"] == "NO_SHOW_REPORTED"
    assert latest["payload"]["interviewId"] == interview["id"]
    assert latest["payload"]["reason"] == "absent"
