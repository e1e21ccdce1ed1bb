"""Shared queries and setup for the interview content tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.core.clock import Clock
from tests.helpers import GraphQLClient, Member
from tests.marketplace_support import COMPLETE, START, book, publish, travel

CREATE_QUESTION = """mutation($input: CreateQuestionInput!) { createQuestion(input: $input) {
  id text difficulty tags suggestedAnswer specialization { id } } }"""
CREATE_RUBRIC = """mutation($input: CreateRubricInput!) { createRubric(input: $input) {
  id name specialization { id } criteria { id name weight description scaleMin scaleMax } } }"""
QUESTIONS = """query($spec: ID!, $first: Int, $after: String, $d: QuestionDifficulty) {
  questions(specializationId: $spec, first: $first, after: $after, difficulty: $d) {
    edges { cursor node { id text difficulty tags suggestedAnswer } }
    pageInfo { hasNextPage endCursor } } }"""
RUBRICS = """query($spec: ID) { rubrics(specializationId: $spec) {
  id name criteria { id name weight } } }"""
SET_QUESTIONS = """mutation($i: ID!, $q: [ID!]!) { setInterviewQuestions(interviewId: $i, questionIds: $q) {
  id questions { id text suggestedAnswer } } }"""
DRAW_QUESTIONS = """mutation($i: ID!, $n: Int!, $d: QuestionDifficulty) {
  drawInterviewQuestions(interviewId: $i, count: $n, difficulty: $d) { id questions { id difficulty } } }"""
INTERVIEW_CONTENT = """query($id: ID!) { interview(id: $id) { id status
  questions { id text suggestedAnswer }
  result { id summary overallScore scores { score comment criterion { id name } } rubric { id }
           interviewer { id } interview { id } } } }"""
SCORE = """mutation($input: ScoreInterviewInput!) { scoreInterview(input: $input) {
  id summary overallScore scores { score comment criterion { id } } interview { id } } }"""
PROGRESS = """query($id: ID!, $spec: ID) { user(id: $id) { progress(specializationId: $spec) {
  scoredAt overallScore specialization { id } interview { id } result { id } } } }"""


def question_input(spec: str, text: str = "Explain the GIL.", **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "specializationId": spec,
        "text": text,
        "difficulty": "MEDIUM",
        "tags": ["Python", "concurrency"],
        "suggestedAnswer": "One thread runs bytecode at a time.",
    }
    values.update(extra)
    return values


async def add_question(client: GraphQLClient, staff: Member, spec: str, **extra: Any) -> str:
    data = await client.data(
        CREATE_QUESTION, {"input": question_input(spec, **extra)}, token=staff.access_token
    )
    question_id: str = data["createQuestion"]["id"]
    return question_id


async def add_rubric(
    client: GraphQLClient, staff: Member, spec: str, weights: tuple[int, ...] = (3, 1)
) -> dict[str, Any]:
    criteria = [{"name": f"Criterion {n}", "weight": w} for n, w in enumerate(weights)]
    data = await client.data(
        CREATE_RUBRIC,
        {"input": {"specializationId": spec, "name": "Backend rubric", "criteria": criteria}},
        token=staff.access_token,
    )
    rubric: dict[str, Any] = data["createRubric"]
    return rubric


async def booked_interview(
    client: GraphQLClient, clock: Clock, host: Member, candidate: Member, spec: str, hours: float = 1
) -> str:
    """An interview booked `hours` from now (`complete` expects the default)."""
    start = (clock.now() + timedelta(hours=hours)).replace(microsecond=0)
    interview: dict[str, Any] = await book(client, candidate, await publish(client, host, spec, start))
    return str(interview["id"])


async def complete(
    client: GraphQLClient, clock: Clock, interview_id: str, host: Member, *others: Member
) -> None:
    """Start the interview at its start and complete it 15 minutes later (docs/product.md, rule 10)."""
    await travel(client, clock, timedelta(hours=1, seconds=1), host, *others)
    await client.data(START, {"id": interview_id}, token=host.access_token)
    await travel(client, clock, timedelta(minutes=15), host, *others)
    await client.data(COMPLETE, {"id": interview_id}, token=host.access_token)


def scores_of(rubric: dict[str, Any], *values: int) -> list[dict[str, Any]]:
    return [
        {"criterionId": c["id"], "score": v, "comment": f"note {n}"}
        for n, (c, v) in enumerate(zip(rubric["criteria"], values, strict=True))
    ]
