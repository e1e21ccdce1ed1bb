"""Question banks and rubric templates: staff manage them, members read them, suggested answers stay
with staff (docs/product.md, rule 25)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Question, Rubric
from tests.content.support import (
    CREATE_QUESTION,
    CREATE_RUBRIC,
    QUESTIONS,
    RUBRICS,
    add_question,
    add_rubric,
    question_input,
)
from tests.helpers import GraphQLClient
from tests.marketplace_support import new_specialization, set_role

NODE = "query($id: ID!) { node(id: $id) { id ... on Question { suggestedAnswer } } }"


async def test_staff_add_questions_members_read_them_without_answers(
    client: GraphQLClient, db_session: AsyncSession
) -> None:
    member, moderator = await client.sign_up("member"), await client.sign_up("mod")
    await set_role(db_session, moderator, "MODERATOR")
    spec, other_spec = await new_specialization(db_session), await new_specialization(db_session)
    created = (
        await client.data(
            CREATE_QUESTION,
            {"input": question_input(spec, tags=["Python", "python", " GIL "])},
            token=moderator.access_token,
        )
    )["createQuestion"]
    assert created["tags"] == ["python", "gil"]
    assert created["suggestedAnswer"] == "One thread runs bytecode at a time."
    ids = [created["id"]] + [await add_question(client, moderator, spec, text=f"Q{n}") for n in range(4)]
    await add_question(client, moderator, other_spec, difficulty="HARD")

    seen: list[str] = []
    after = None
    while True:
        page = (
            await client.data(
                QUESTIONS, {"spec": spec, "first": 2, "after": after}, token=member.access_token
            )
        )["questions"]
        seen += [e["node"]["id"] for e in page["edges"]]
        assert all(e["node"]["suggestedAnswer"] is None for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ids
    staff_view = (await client.data(QUESTIONS, {"spec": spec}, token=moderator.access_token))["questions"]
    assert {e["node"]["suggestedAnswer"] for e in staff_view["edges"]} == {
        "One thread runs bytecode at a time."
    }
    hard = (await client.data(QUESTIONS, {"spec": other_spec, "d": "HARD"}, token=member.access_token))[
        "questions"
    ]
    assert len(hard["edges"]) == 1

    assert (await client.data(NODE, {"id": ids[0]}, token=member.access_token))["node"][
        "suggestedAnswer"
    ] is None
    assert (await client.data(NODE, {"id": ids[0]}, token=moderator.access_token))["node"]["suggestedAnswer"]
    assert (await client.data(NODE, {"id": ids[0]}))["node"] is None
    assert await client.error_code(QUESTIONS, {"spec": spec}) == "UNAUTHENTICATED"


async def test_only_staff_manage_banks_and_bad_input_is_refused(
    client: GraphQLClient, db_session: AsyncSession
) -> None:
    member, admin = await client.sign_up("member"), await client.sign_up("admin")
    await set_role(db_session, admin, "ADMIN")
    spec = await new_specialization(db_session)
    criteria = [{"name": "Depth", "weight": 2}]
    rubric = {"specializationId": spec, "name": "R", "criteria": criteria}
    assert await client.error_code(
        CREATE_QUESTION, {"input": question_input(spec)}, token=member.access_token
    ) == ("FORBIDDEN")
    assert await client.error_code(CREATE_RUBRIC, {"input": rubric}, token=member.access_token) == "FORBIDDEN"
    bad_questions: list[dict[str, Any]] = [
        {"text": "  "},
        {"text": "x" * 4001},
        {"tags": [f"t{n}" for n in range(11)]},
        {"tags": [""]},
        {"suggestedAnswer": "a" * 8001},
        {"specializationId": "bad"},
        {"specializationId": spec[:-2]},
    ]
    for override in bad_questions:
        result = await client.execute(
            CREATE_QUESTION, {"input": question_input(spec, **override)}, token=admin.access_token
        )
        assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", override
    bad_criteria: list[list[dict[str, Any]]] = [
        [],
        [{"name": "A", "weight": 0}],
        [{"name": "A", "weight": 101}],
        [{"name": "A"}, {"name": "a"}],
        [{"name": f"C{n}"} for n in range(21)],
        [{"name": "A", "description": "d" * 1001}],
    ]
    for bad in bad_criteria:
        result = await client.execute(
            CREATE_RUBRIC, {"input": {**rubric, "criteria": bad}}, token=admin.access_token
        )
        assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", bad
    assert await db_session.scalar(select(func.count()).select_from(Question)) == 0
    assert await db_session.scalar(select(func.count()).select_from(Rubric)) == 0


async def test_rubrics_by_specialization_with_ordered_criteria(
    client: GraphQLClient, db_session: AsyncSession
) -> None:
    member, moderator = await client.sign_up("member"), await client.sign_up("mod")
    await set_role(db_session, moderator, "MODERATOR")
    spec, other_spec = await new_specialization(db_session), await new_specialization(db_session)
    first = await add_rubric(client, moderator, spec, weights=(5, 1, 2))
    assert [c["weight"] for c in first["criteria"]] == [5, 1, 2]
    assert {c["scaleMin"] for c in first["criteria"]} == {1}
    assert {c["scaleMax"] for c in first["criteria"]} == {5}
    second = await add_rubric(client, moderator, other_spec)
    mine = (await client.data(RUBRICS, {"spec": spec}, token=member.access_token))["rubrics"]
    assert [r["id"] for r in mine] == [first["id"]]
    assert [c["name"] for c in mine[0]["criteria"]] == ["Criterion 0", "Criterion 1", "Criterion 2"]
    every = (await client.data(RUBRICS, {}, token=member.access_token))["rubrics"]
    assert [r["id"] for r in every] == [first["id"], second["id"]]
