"""`node(id:)` resolves every type that implements Node, each with its own visibility rule."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLObjectType
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from db.models import (
    AuditEntry,
    Block,
    Delivery,
    Feedback,
    Interview,
    InterviewResult,
    NoShowReport,
    Question,
    Rubric,
    RubricCriterion,
)
from schema.ids import to_global_id
from tests.attack_support import graphql_schema, multipart
from tests.helpers import GraphQLClient, Member, db_id
from tests.marketplace_support import book, new_specialization, publish, set_role, tomorrow

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"


async def _upload_resume(client: GraphQLClient, owner: Member) -> str:
    kwargs = multipart("mutation($f: Upload!) { uploadResume(file: $f) { id } }", {"f": None}, ["f"])
    kwargs["files"] = {"0": ("r.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")}
    kwargs["headers"]["Authorization"] = f"Bearer {owner.access_token}"
    response = await client.http.post("/graphql", **kwargs)
    upload_id: str = response.json()["data"]["uploadResume"]["id"]
    return upload_id


async def _first_id(client: GraphQLClient, query: str, token: str, *path: str) -> str:
    value: Any = await client.data(query, token=token)
    for key in path:
        value = value[key]
    node_id: str = value["edges"][0]["node"]["id"]
    return node_id


async def _content_rows(
    session: AsyncSession, interview_key: int, host: Member, candidate: Member, stranger: Member
) -> dict[str, str]:
    """A question, a rubric with a criterion, a result of the interview and a block: global IDs by type."""
    interview = await session.get(Interview, interview_key)
    assert interview is not None
    spec = interview.specialization_id
    question = Question(specialization_id=spec, body="Why?", difficulty="EASY")
    rubric = Rubric(specialization_id=spec, name="R")
    block = Block(user_id=db_id(stranger.id), reason="spam")
    session.add_all([question, rubric, block])
    await session.flush()
    criterion = RubricCriterion(rubric_id=rubric.id, position=0, name="C", weight=1)
    result = InterviewResult(
        interview_id=interview_key,
        rubric_id=rubric.id,
        interviewer_id=db_id(host.id),
        candidate_id=db_id(candidate.id),
        specialization_id=spec,
        overall_score=3.0,
    )
    session.add_all([criterion, result])
    await session.flush()
    rows: dict[str, Any] = {
        "Question": question,
        "Rubric": rubric,
        "RubricCriterion": criterion,
        "InterviewResult": result,
        "Block": block,
    }
    return {name: to_global_id(name, row.id) for name, row in rows.items()}


async def test_every_node_type_resolves_with_its_visibility_rule(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, candidate, stranger, admin = [
        await client.sign_up(n) for n in ("host", "cand", "stranger", "admin")
    ]
    await set_role(db_session, admin, "ADMIN")
    spec = await new_specialization(db_session)
    slot = await publish(client, host, spec, tomorrow(clock))
    interview = (await book(client, candidate, slot))["id"]
    message = await client.data(
        'mutation($i: ID!) { sendMessage(interviewId: $i, body: "hello there") { id } }',
        {"i": interview},
        token=host.access_token,
    )
    api_key = await client.data(
        'mutation { createApiKey(name: "k", scope: READ) { apiKey { id } } }', token=host.access_token
    )
    notification = await _first_id(
        client, "query { notifications { edges { node { id } } } }", host.access_token, "notifications"
    )
    ledger_entry = await _first_id(
        client,
        "query { me { pointsLedger { edges { node { id } } } } }",
        candidate.access_token,
        "me",
        "pointsLedger",
    )
    interview_key = db_id(interview)
    feedback = Feedback(
        interview_id=interview_key,
        author_id=db_id(host.id),
        subject_id=db_id(candidate.id),
        subject_was_interviewer=False,
        rating=5,
        comment="clear and well prepared",
    )
    report = NoShowReport(
        interview_id=interview_key, reporter_id=db_id(host.id), accused_id=db_id(candidate.id)
    )
    db_session.add_all([feedback, report])
    await db_session.flush()
    content = await _content_rows(db_session, interview_key, host, candidate, stranger)
    webhook = await client.data(
        'mutation { createWebhook(input: {url: "http://127.0.0.1:9/h", events: [BOOKED]}) '
        "{ webhook { id } } }",
        token=host.access_token,
    )
    webhook_id = webhook["createWebhook"]["webhook"]["id"]
    match_ticket = await client.data(
        "mutation($s: ID!) { joinMatchQueue(input: {specializationId: $s, role: INTERVIEWER}) { id } }",
        {"s": spec},
        token=host.access_token,
    )
    delivery = Delivery(
        notification_id=db_id(notification),
        user_id=db_id(host.id),
        kind="BOOKED",
        channel="WEBHOOK",
        webhook_id=db_id(webhook_id),
    )
    db_session.add(delivery)
    await db_session.flush()
    audit = await db_session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert audit is not None

    everyone = {"host", "candidate", "stranger", "admin", "anonymous"}
    # Type -> (global ID, who may see it).
    cases: dict[str, tuple[str, set[str]]] = {
        "User": (host.id, everyone),
        "Specialization": (spec, everyone),
        "Slot": (slot, everyone),
        "Interview": (interview, {"host", "candidate", "admin"}),
        "Message": (message["sendMessage"]["id"], {"host", "candidate", "admin"}),
        "Feedback": (to_global_id("Feedback", feedback.id), {"host", "candidate", "admin"}),
        "NoShowReport": (to_global_id("NoShowReport", report.id), {"host", "candidate", "admin"}),
        "Notification": (notification, {"host"}),
        "PointsEntry": (ledger_entry, {"candidate", "admin"}),
        "ApiKey": (api_key["createApiKey"]["apiKey"]["id"], {"host"}),
        "UploadedFile": (await _upload_resume(client, candidate), {"candidate", "host", "admin"}),
        "AuditEntry": (to_global_id("AuditEntry", audit.id), {"admin"}),
        "Question": (content["Question"], everyone - {"anonymous"}),
        "Rubric": (content["Rubric"], everyone - {"anonymous"}),
        "RubricCriterion": (content["RubricCriterion"], everyone - {"anonymous"}),
        "InterviewResult": (content["InterviewResult"], {"host", "candidate", "admin"}),
        "Block": (content["Block"], {"admin"}),
        "Webhook": (webhook_id, {"host"}),
        "Delivery": (to_global_id("Delivery", delivery.id), {"host", "admin"}),
        "MatchTicket": (match_ticket["joinMatchQueue"]["id"], {"host", "admin"}),
    }
    schema = graphql_schema()
    node_types = {
        name
        for name, type_ in schema.type_map.items()
        if isinstance(type_, GraphQLObjectType) and any(i.name == "Node" for i in type_.interfaces)
    }
    assert node_types == set(cases)
    tokens = {
        "host": host.access_token,
        "candidate": candidate.access_token,
        "stranger": stranger.access_token,
        "admin": admin.access_token,
        "anonymous": None,
    }
    for type_name, (global_id, seers) in cases.items():
        for caller, token in tokens.items():
            node = (await client.data(NODE, {"id": global_id}, token=token))["node"]
            expected = {"__typename": type_name, "id": global_id} if caller in seers else None
            assert node == expected, (type_name, caller)
        # A well-formed ID of nothing is null for everyone.
        missing = to_global_id(type_name, 2**63 - 1)
        assert (await client.data(NODE, {"id": missing}, token=admin.access_token))["node"] is None
