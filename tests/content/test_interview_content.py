"""An interview's question set and its scored result: who sets them, who sees them when, and a
member's progress (docs/product.md, rule 25)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from tests.content.support import (
    DRAW_QUESTIONS,
    INTERVIEW_CONTENT,
    PROGRESS,
    SCORE,
    SET_QUESTIONS,
    add_question,
    add_rubric,
    booked_interview,
    complete,
    scores_of,
)
from tests.helpers import GraphQLClient
from tests.marketplace_support import CANCEL, grant, new_specialization, set_role


async def test_question_set_is_the_interviewers_and_the_candidate_sees_it_after_completion(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, candidate, stranger, moderator = [
        await client.sign_up(n) for n in ("host", "cand", "stranger", "mod")
    ]
    await set_role(db_session, moderator, "MODERATOR")
    spec, other_spec = await new_specialization(db_session), await new_specialization(db_session)
    questions = [await add_question(client, moderator, spec, text=f"Question {n}") for n in range(3)]
    foreign = await add_question(client, moderator, other_spec)
    interview = await booked_interview(client, clock, host, candidate, spec)
    chosen = [questions[2], questions[0]]

    for member, code in ((candidate, "FORBIDDEN"), (stranger, "NOT_FOUND")):
        refused = await client.error_code(
            SET_QUESTIONS, {"i": interview, "q": chosen}, token=member.access_token
        )
        assert refused == code
    for bad in ([foreign], [questions[0], questions[0]], [questions[0]] * 21):
        refused = await client.error_code(SET_QUESTIONS, {"i": interview, "q": bad}, token=host.access_token)
        assert refused == "BAD_USER_INPUT", bad
    set_ = (await client.data(SET_QUESTIONS, {"i": interview, "q": chosen}, token=host.access_token))[
        "setInterviewQuestions"
    ]
    assert [q["id"] for q in set_["questions"]] == chosen
    assert all(q["suggestedAnswer"] for q in set_["questions"])  # the interviewer's view

    before = (await client.data(INTERVIEW_CONTENT, {"id": interview}, token=candidate.access_token))[
        "interview"
    ]
    assert before["questions"] is None
    staff = (await client.data(INTERVIEW_CONTENT, {"id": interview}, token=moderator.access_token))[
        "interview"
    ]
    assert [q["id"] for q in staff["questions"]] == chosen
    assert (await client.data(INTERVIEW_CONTENT, {"id": interview}, token=stranger.access_token))[
        "interview"
    ] is None

    await complete(client, clock, interview, host, candidate, moderator)
    after = (await client.data(INTERVIEW_CONTENT, {"id": interview}, token=candidate.access_token))[
        "interview"
    ]
    assert [q["id"] for q in after["questions"]] == chosen
    assert all(q["suggestedAnswer"] is None for q in after["questions"])  # never the answers
    assert (
        await client.error_code(SET_QUESTIONS, {"i": interview, "q": []}, token=host.access_token)
        == "CONFLICT"
    )


async def test_cancelling_does_not_show_the_candidate_the_questions(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, candidate, moderator = [await client.sign_up(n) for n in ("host", "cand", "mod")]
    await set_role(db_session, moderator, "MODERATOR")
    spec = await new_specialization(db_session)
    question = await add_question(client, moderator, spec)
    interview = await booked_interview(client, clock, host, candidate, spec)
    await client.data(SET_QUESTIONS, {"i": interview, "q": [question]}, token=host.access_token)
    await client.data(CANCEL, {"id": interview}, token=host.access_token)
    view = (await client.data(INTERVIEW_CONTENT, {"id": interview}, token=candidate.access_token))[
        "interview"
    ]
    assert view["status"] == "CANCELLED"
    assert view["questions"] is None


async def test_questions_drawn_by_difficulty_prefer_ones_not_asked_before(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, candidate, moderator = [await client.sign_up(n) for n in ("host", "cand", "mod")]
    await set_role(db_session, moderator, "MODERATOR")
    spec = await new_specialization(db_session)
    await grant(db_session, candidate, 1)
    hard = [await add_question(client, moderator, spec, difficulty="HARD", text=f"H{n}") for n in range(4)]
    await add_question(client, moderator, spec, difficulty="EASY")
    first = await booked_interview(client, clock, host, candidate, spec)
    drawn = (await client.data(DRAW_QUESTIONS, {"i": first, "n": 2, "d": "HARD"}, token=host.access_token))[
        "drawInterviewQuestions"
    ]["questions"]
    assert {q["difficulty"] for q in drawn} == {"HARD"}
    assert len(drawn) == 2
    second = await booked_interview(client, clock, host, candidate, spec, hours=3)
    again = (await client.data(DRAW_QUESTIONS, {"i": second, "n": 2, "d": "HARD"}, token=host.access_token))[
        "drawInterviewQuestions"
    ]["questions"]
    assert {q["id"] for q in again} == set(hard) - {q["id"] for q in drawn}  # the unseen two
    assert (
        await client.error_code(DRAW_QUESTIONS, {"i": second, "n": 0}, token=host.access_token)
        == "BAD_USER_INPUT"
    )
    assert (
        await client.error_code(DRAW_QUESTIONS, {"i": second, "n": 21}, token=host.access_token)
        == "BAD_USER_INPUT"
    )
    empty = {"i": second, "n": 1, "d": "MEDIUM"}
    assert await client.error_code(DRAW_QUESTIONS, empty, token=host.access_token) == "CONFLICT"
    assert (
        await client.error_code(DRAW_QUESTIONS, {"i": second, "n": 1}, token=candidate.access_token)
        == "FORBIDDEN"
    )


async def test_interviewer_scores_once_after_completion_and_the_candidate_reads_it(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, candidate, stranger, admin = [
        await client.sign_up(n) for n in ("host", "cand", "stranger", "admin")
    ]
    await set_role(db_session, admin, "ADMIN")
    spec, other_spec = await new_specialization(db_session), await new_specialization(db_session)
    rubric = await add_rubric(client, admin, spec, weights=(3, 1))
    foreign = await add_rubric(client, admin, other_spec)
    interview = await booked_interview(client, clock, host, candidate, spec)
    scoring = {
        "interviewId": interview,
        "scores": scores_of(rubric, 5, 1),
        "summary": "Strong design skills.",
    }
    assert (
        await client.error_code(SCORE, {"input": scoring}, token=host.access_token) == "CONFLICT"
    )  # not done

    await complete(client, clock, interview, host, candidate, stranger, admin)
    refusals = {
        "FORBIDDEN": (candidate, scoring),
        "NOT_FOUND": (stranger, scoring),
    }
    for code, (member, values) in refusals.items():
        assert await client.error_code(SCORE, {"input": values}, token=member.access_token) == code
    bad_inputs = [
        {**scoring, "scores": scores_of(rubric, 5, 1)[:1]},  # a criterion left out
        {**scoring, "scores": scores_of(rubric, 6, 1)},
        {**scoring, "scores": scores_of(rubric, 0, 1)},
        {**scoring, "scores": scores_of(foreign, 3, 3)},  # another specialization's rubric
        {**scoring, "scores": scores_of(rubric, 5, 1) + scores_of(foreign, 3, 3)},
        {**scoring, "scores": []},
        {**scoring, "summary": "s" * 4001},
    ]
    for values in bad_inputs:
        assert await client.error_code(SCORE, {"input": values}, token=host.access_token) == "BAD_USER_INPUT"

    result = (await client.data(SCORE, {"input": scoring}, token=host.access_token))["scoreInterview"]
    assert result["overallScore"] == 4.0  # (3 * 5 + 1 * 1) / 4
    assert [s["score"] for s in result["scores"]] == [5, 1]
    assert await client.error_code(SCORE, {"input": scoring}, token=host.access_token) == "CONFLICT"

    for member in (candidate, host, admin):
        seen = (await client.data(INTERVIEW_CONTENT, {"id": interview}, token=member.access_token))[
            "interview"
        ]
        assert seen["result"]["summary"] == "Strong design skills."
        assert [s["comment"] for s in seen["result"]["scores"]] == ["note 0", "note 1"]
        assert seen["result"]["interviewer"]["id"] == host.id
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert (await client.data(node, {"id": result["id"]}, token=stranger.access_token))["node"] is None
    assert (await client.data(node, {"id": result["id"]}, token=candidate.access_token))["node"]


async def test_progress_shows_scores_over_time_to_the_member_and_staff(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, candidate, stranger, moderator = [
        await client.sign_up(n) for n in ("host", "cand", "stranger", "mod")
    ]
    await set_role(db_session, moderator, "MODERATOR")
    spec, other_spec = await new_specialization(db_session), await new_specialization(db_session)
    await grant(db_session, candidate, 2)
    rubrics = {s: await add_rubric(client, moderator, s, weights=(1,)) for s in (spec, other_spec)}
    scored = []
    for topic, score in ((spec, 2), (other_spec, 4), (spec, 3)):
        interview = await booked_interview(client, clock, host, candidate, topic)
        await complete(client, clock, interview, host, candidate, stranger, moderator)
        values = {"interviewId": interview, "scores": scores_of(rubrics[topic], score)}
        await client.data(SCORE, {"input": values}, token=host.access_token)
        scored.append(interview)

    own = (await client.data(PROGRESS, {"id": candidate.id, "spec": spec}, token=candidate.access_token))[
        "user"
    ]
    assert [p["overallScore"] for p in own["progress"]] == [2.0, 3.0]
    assert [p["interview"]["id"] for p in own["progress"]] == [scored[0], scored[2]]
    assert {p["specialization"]["id"] for p in own["progress"]} == {spec}
    every = (await client.data(PROGRESS, {"id": candidate.id}, token=moderator.access_token))["user"]
    assert [p["overallScore"] for p in every["progress"]] == [2.0, 4.0, 3.0]
    hidden = (await client.data(PROGRESS, {"id": candidate.id}, token=stranger.access_token))["user"]
    assert hidden["progress"] == []
    interviewer = (await client.data(PROGRESS, {"id": host.id}, token=host.access_token))["user"]
    assert interviewer["progress"] == []  # results received as candidate only
