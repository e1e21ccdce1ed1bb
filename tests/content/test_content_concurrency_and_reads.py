"""Scoring races on the real database, and content reads whose statement count does not grow with
the page (docs/product.md, rule 25)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.clock import Clock
from db.models import (
    CriterionScore,
    Interview,
    InterviewQuestion,
    InterviewResult,
    Question,
    Rubric,
    RubricCriterion,
    Slot,
    User,
)
from tests.content.support import SCORE, add_rubric, booked_interview, complete, scores_of
from tests.helpers import GraphQLClient, Member, db_id
from tests.interviews.test_booking import count_statements
from tests.marketplace_support import new_specialization, tomorrow


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session


async def test_two_scorings_at_once_store_one_result(
    committing_client: GraphQLClient, committed: AsyncSession, engine: AsyncEngine, clock: Clock
) -> None:
    client = committing_client
    host, candidate, admin = [await client.sign_up(n) for n in ("host", "cand", "admin")]
    await committed.execute(update(User).where(User.id == db_id(admin.id)).values(role="ADMIN"))
    spec = await new_specialization(committed)
    await committed.commit()
    rubric = await add_rubric(client, admin, spec)
    interview = await booked_interview(client, clock, host, candidate, spec)
    await complete(client, clock, interview, host, candidate)
    attempts = [
        {"interviewId": interview, "scores": scores_of(rubric, n, 6 - n), "summary": f"take {n}"}
        for n in (1, 2, 3, 4)
    ]
    results = await asyncio.gather(
        *(client.execute(SCORE, {"input": values}, token=host.access_token) for values in attempts)
    )
    codes = [r["errors"][0]["extensions"]["code"] if r.get("errors") else None for r in results]
    assert sorted(codes, key=str) == ["CONFLICT", "CONFLICT", "CONFLICT", None], codes
    async with AsyncSession(engine) as session:
        assert await session.scalar(select(func.count()).select_from(InterviewResult)) == 1
        assert await session.scalar(select(func.count()).select_from(CriterionScore)) == 2


async def _completed_with_content(
    session: AsyncSession, clock: Clock, host: Member, candidate: Member, count: int
) -> None:
    """`count` completed interviews of `candidate`, each with two questions and a scored result."""
    spec = db_id(await new_specialization(session))
    questions = [Question(specialization_id=spec, body=f"Q{n}", difficulty="EASY") for n in range(2)]
    rubric = Rubric(specialization_id=spec, name="R")
    session.add_all([*questions, rubric])
    await session.flush()
    criteria = [RubricCriterion(rubric_id=rubric.id, position=n, name=f"C{n}", weight=1) for n in range(2)]
    session.add_all(criteria)
    base = tomorrow(clock) - timedelta(days=3)
    for n in range(count):
        start = base + timedelta(hours=n)
        slot = Slot(
            host_id=db_id(host.id),
            specialization_id=spec,
            starts_at=start,
            ends_at=start + timedelta(minutes=30),
            duration_minutes=30,
            video_link="https://meet.example.com/x",
            status="BOOKED",
        )
        session.add(slot)
        await session.flush()
        interview = Interview(
            slot_id=slot.id,
            interviewer_id=slot.host_id,
            candidate_id=db_id(candidate.id),
            specialization_id=spec,
            starts_at=start,
            ends_at=slot.ends_at,
            status="COMPLETED",
        )
        session.add(interview)
        await session.flush()
        session.add_all(
            InterviewQuestion(interview_id=interview.id, question_id=q.id, position=i)
            for i, q in enumerate(questions)
        )
        result = InterviewResult(
            interview_id=interview.id,
            rubric_id=rubric.id,
            interviewer_id=interview.interviewer_id,
            candidate_id=interview.candidate_id,
            specialization_id=spec,
            overall_score=3.0,
        )
        session.add(result)
        await session.flush()
        session.add_all(CriterionScore(result_id=result.id, criterion_id=c.id, score=3) for c in criteria)
    await session.flush()


CONTENT_PAGE = """query($first: Int) { myInterviews(first: $first, status: [COMPLETED]) { edges { node {
  id questions { id text suggestedAnswer specialization { name } }
  result { overallScore summary scores { score comment criterion { name weight } }
           rubric { name criteria { name } } }
} } }
me { progress { overallScore scoredAt specialization { name } result { summary } } } }"""


async def test_content_reads_take_the_same_statements_for_any_page_size(
    client: GraphQLClient, db_session: AsyncSession, engine: AsyncEngine, clock: Clock
) -> None:
    host, candidate = await client.sign_up("host"), await client.sign_up("cand")
    await _completed_with_content(db_session, clock, host, candidate, 6)
    await client.data(CONTENT_PAGE, {"first": 1}, token=candidate.access_token)  # session cache warmed
    counts = []
    for first in (2, 6):
        with count_statements(engine) as statements:
            data = await client.data(CONTENT_PAGE, {"first": first}, token=candidate.access_token)
        edges = data["myInterviews"]["edges"]
        assert len(edges) == first
        assert all(len(e["node"]["questions"]) == 2 and e["node"]["result"]["scores"] for e in edges)
        assert len(data["me"]["progress"]) == 6
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
