"""Pairing in the matching queue (docs/product.md, rule 24): roles, points, arrival order, EITHER with
EITHER, language, level and duration, and what both sides are told."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.enums import LedgerKind
from db.models import Interview
from resolvers.points import change_balance
from tests.helpers import GraphQLClient, Member, db_id
from tests.marketplace_support import (
    COMPLETE,
    START,
    assert_ledger_consistent,
    new_specialization,
    points,
    travel,
)
from tests.matching.support import join, kinds, ticket


async def _without_points(session: AsyncSession, member: Member) -> None:
    await change_balance(session, db_id(member.id), -1, LedgerKind.ADJUSTMENT, reason="test", uow=None)


async def test_an_interviewer_and_a_candidate_are_paired_at_once(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    spec = await new_specialization(db_session)
    host, cand = await client.sign_up("host"), await client.sign_up("cand")
    waiting = await join(client, host, spec, "INTERVIEWER", videoLink="https://meet.example.com/host")
    assert waiting["status"] == "WAITING"
    assert waiting["position"] == 1
    assert waiting["match"] is None
    assert waiting["estimatedWaitSeconds"] is None  # no recent match to estimate from
    matched = await join(client, cand, spec, "CANDIDATE")
    assert matched["status"] == "MATCHED"
    assert matched["position"] is None
    match = matched["match"]
    assert match["partner"] == {"id": host.id}
    (interview,) = match["interviews"]
    assert interview["interviewer"] == {"id": host.id}
    assert interview["candidate"] == {"id": cand.id}
    assert interview["status"] == "SCHEDULED"
    assert interview["videoLink"] == "https://meet.example.com/host"
    starts = clock.now()
    assert abs(interview_start(interview) - starts) < timedelta(seconds=5)  # starts at once
    assert interview_end(interview) - interview_start(interview) == timedelta(minutes=30)
    # The interviewer's ticket is matched too, with the same match seen from their side.
    theirs = await ticket(client, host)
    assert theirs is not None
    assert theirs["status"] == "MATCHED"
    assert theirs["match"]["partner"] == {"id": cand.id}
    assert theirs["match"]["interviews"][0]["id"] == interview["id"]
    assert await points(client, cand) == 0
    assert await points(client, host) == 1
    assert "MATCH_FOUND" in await kinds(client, host)
    assert {"MATCH_FOUND", "POINTS_CHANGED"} <= set(await kinds(client, cand))
    await assert_ledger_consistent(db_session)


async def test_the_interviewer_is_rewarded_on_completion_as_after_a_booking(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    spec = await new_specialization(db_session)
    host, cand = await client.sign_up("host"), await client.sign_up("cand")
    await join(client, host, spec, "INTERVIEWER")
    interview = (await join(client, cand, spec, "CANDIDATE"))["match"]["interviews"][0]
    assert interview["videoLink"].startswith("https://meet.jit.si/mockinterview-")  # a room made up
    await client.data(START, {"id": interview["id"]}, token=cand.access_token)
    await travel(client, clock, timedelta(minutes=16), host)
    done = await client.data(COMPLETE, {"id": interview["id"]}, token=host.access_token)
    assert done["completeInterview"]["status"] == "COMPLETED"
    assert await points(client, host) == 2
    await assert_ledger_consistent(db_session)


async def test_two_either_members_get_two_interviews_with_roles_swapped(
    client: GraphQLClient, db_session: AsyncSession
) -> None:
    spec = await new_specialization(db_session)
    first, second = await client.sign_up("first"), await client.sign_up("second")
    await join(client, first, spec, "EITHER")
    match = (await join(client, second, spec, "EITHER"))["match"]
    one, two = match["interviews"]
    # The one who waited longer is interviewed first; the second starts when the first ends.
    assert (one["interviewer"]["id"], one["candidate"]["id"]) == (second.id, first.id)
    assert (two["interviewer"]["id"], two["candidate"]["id"]) == (first.id, second.id)
    assert interview_start(two) == interview_end(one)
    assert await points(client, first) == 0
    assert await points(client, second) == 0
    await assert_ledger_consistent(db_session)


async def test_either_without_points_only_interviews(client: GraphQLClient, db_session: AsyncSession) -> None:
    spec = await new_specialization(db_session)
    broke, rich, other = [await client.sign_up(n) for n in ("broke", "rich", "other")]
    await _without_points(db_session, broke)
    await join(client, broke, spec, "EITHER")
    # Two who can only interview do not pair ...
    assert (await join(client, other, spec, "INTERVIEWER"))["status"] == "WAITING"
    # ... an EITHER with points is interviewed by the one without, once.
    match = (await join(client, rich, spec, "EITHER"))["match"]
    (interview,) = match["interviews"]
    assert (interview["interviewer"]["id"], interview["candidate"]["id"]) == (broke.id, rich.id)
    assert await points(client, rich) == 0
    assert await points(client, broke) == 0


async def test_a_candidate_needs_a_point_to_join(client: GraphQLClient, db_session: AsyncSession) -> None:
    spec = await new_specialization(db_session)
    broke = await client.sign_up("broke")
    await _without_points(db_session, broke)
    code = await client.error_code(
        "mutation($i: JoinMatchQueueInput!) { joinMatchQueue(input: $i) { id } }",
        {"i": {"specializationId": spec, "role": "CANDIDATE"}},
        token=broke.access_token,
    )
    assert code == "INSUFFICIENT_POINTS"
    assert await ticket(client, broke) is None


async def test_a_candidate_who_spent_their_point_while_waiting_is_passed_over(
    client: GraphQLClient, db_session: AsyncSession
) -> None:
    spec = await new_specialization(db_session)
    spender, patient, host = [await client.sign_up(n) for n in ("spender", "patient", "host")]
    await join(client, spender, spec, "CANDIDATE")
    await join(client, patient, spec, "CANDIDATE")
    await _without_points(db_session, spender)
    match = (await join(client, host, spec, "INTERVIEWER"))["match"]
    assert match["partner"] == {"id": patient.id}
    assert (await ticket(client, spender))["status"] == "WAITING"  # type: ignore[index]


async def test_pairs_follow_arrival_order(client: GraphQLClient, db_session: AsyncSession) -> None:
    spec = await new_specialization(db_session)
    early, late, host, host2 = [await client.sign_up(n) for n in ("early", "late", "host", "host2")]
    assert (await join(client, early, spec, "CANDIDATE"))["position"] == 1
    assert (await join(client, late, spec, "CANDIDATE"))["position"] == 2
    assert (await join(client, host, spec, "INTERVIEWER"))["match"]["partner"] == {"id": early.id}
    assert (await ticket(client, late))["position"] == 1  # type: ignore[index]
    assert (await join(client, host2, spec, "INTERVIEWER"))["match"]["partner"] == {"id": late.id}


async def test_language_level_and_duration_must_fit(client: GraphQLClient, db_session: AsyncSession) -> None:
    spec = await new_specialization(db_session)
    other_spec = await new_specialization(db_session)
    de, senior, short, elsewhere, host = [
        await client.sign_up(n) for n in ("de", "senior", "short", "elsewhere", "host")
    ]
    await join(client, de, spec, "CANDIDATE", language="German")
    await join(client, senior, spec, "CANDIDATE", level="SENIOR")
    await join(client, short, spec, "CANDIDATE", durationMinutes=15)
    await join(client, elsewhere, other_spec, "CANDIDATE")
    mine = await join(client, host, spec, "INTERVIEWER", language=" English ", level="JUNIOR")
    assert mine["status"] == "WAITING"
    assert mine["language"] == "english"
    # An unset language or level matches any: a newcomer without either pairs with the host.
    anyone = await client.sign_up("anyone")
    assert (await join(client, anyone, spec, "CANDIDATE"))["match"]["partner"] == {"id": host.id}
    german_host = await client.sign_up("germanhost")
    match = (await join(client, german_host, spec, "INTERVIEWER", language="GERMAN"))["match"]
    assert match["partner"] == {"id": de.id}


async def test_both_sides_learn_of_the_match_in_their_notifications(
    client: GraphQLClient, db_session: AsyncSession
) -> None:
    spec = await new_specialization(db_session)
    host, cand = await client.sign_up("host"), await client.sign_up("cand")
    await join(client, host, spec, "INTERVIEWER")
    interview = (await join(client, cand, spec, "CANDIDATE"))["match"]["interviews"][0]
    data = await client.data(
        "query { notifications(first: 5) { edges { node { kind payload } } } }", token=host.access_token
    )
    payloads = [
        e["node"]["payload"] for e in data["notifications"]["edges"] if e["node"]["kind"] == "MATCH_FOUND"
    ]
    assert payloads == [
        {
            "interviewId": interview["id"],
            "startsAt": payloads[0]["startsAt"],
            "role": "INTERVIEWER",
            "interviews": 1,
            "partner": "Cand",
        }
    ]
    rows = (
        await db_session.execute(select(Interview).where(Interview.id == db_id(interview["id"])))
    ).scalars()
    assert next(rows).reminder_sent_at is not None  # the match notice stands for the reminder


def interview_start(interview: dict[str, str]) -> datetime:
    return datetime.fromisoformat(interview["startsAt"])


def interview_end(interview: dict[str, str]) -> datetime:
    return datetime.fromisoformat(interview["endsAt"])
