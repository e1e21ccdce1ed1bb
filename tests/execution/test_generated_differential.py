"""Compiled and resolver paths give the same answers, for every type and field the schema has.

Generated from the schema, not written per field: every Node type is read through `node(id:)` with
all its fields (objects one level deep, connections with their pages) and every root connection with
all node fields, for anonymous, participant, outsider, moderator and admin viewers and at pagination
edges (`first: 0`, `first: 1`, the next page, `last`). A new field is covered by being in the schema.

It also keeps the compiled path honest: every field of a mapped type must compile (alone, for an
admin) unless it is listed in RESOLVER_ONLY, so a field that would send pages to the slow path fails
here instead of going unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from graphql import (
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_leaf_type,
)
from graphql.pyutils import Undefined
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from db.models import Delivery, Feedback, NoShowReport, Notification
from resolvers.unit_of_work import Services
from schema.compiled.holes import HOLE_KEY
from schema.compiled.mapped import Mapped, type_name
from schema.ids import to_global_id
from tests.attack_support import graphql_schema
from tests.execution.test_compiled_reads import both_paths
from tests.helpers import GraphQLClient, Member, db_id
from tests.marketplace_support import book, new_specialization, publish, set_role, tomorrow

# Fields answered by their resolvers only (no SQL form yet). Anything else on a mapped type compiles.
RESOLVER_ONLY = {
    "User.stats",
    "User.calendarFeedUrl",
    "Interview.calendarEvent",
    "Interview.questions",
    "Interview.result",
    "User.progress",
}
# Root connections answered by their resolvers only. Every other one compiles for some viewer.
RESOLVER_ONLY_ROOTS: set[str] = set()
HOLE_MARK = f"'{HOLE_KEY}'"
PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"


@dataclass
class World:
    viewers: dict[str, str | None]
    ids: dict[str, list[str]]


def _mapped_types() -> dict[str, type[Mapped]]:
    found: dict[str, type[Mapped]] = {}
    pending = list(Mapped.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if hasattr(cls, "__model__"):
            found[type_name(cls)] = cls
    return found


def _leaves(object_type: GraphQLObjectType) -> str:
    names = [
        name
        for name, field in object_type.fields.items()
        if is_leaf_type(get_named_type(field.type)) and not _needs_arguments(field)
    ]
    return " ".join(["__typename", *names])


def _needs_arguments(field: Any) -> bool:
    return any(
        isinstance(argument.type, GraphQLNonNull) and argument.default_value is Undefined
        for argument in field.args.values()
    )


def _connection(name: str, connection: GraphQLObjectType, arguments: str = "") -> str:
    node = get_named_type(get_named_type(connection.fields["edges"].type).fields["node"].type)
    return f"{name}{arguments} {{ edges {{ cursor node {{ {_leaves(node)} }} }} {PAGE_INFO} }}"


def _is_connection(named: Any) -> bool:
    return isinstance(named, GraphQLObjectType) and "edges" in named.fields and "pageInfo" in named.fields


def _field_selection(name: str, field: Any, *, deep: bool = True) -> str | None:
    """The selection of one field: leaves as they are, objects with their leaves, connections with
    their nodes' leaves (only `id` below the field when not `deep`); None for a field that needs an
    argument."""
    if _needs_arguments(field):
        return None
    named = get_named_type(field.type)
    if is_leaf_type(named):
        return name
    if _is_connection(named):
        return (
            _connection(name, named) if deep else f"{name} {{ edges {{ cursor node {{ id }} }} {PAGE_INFO} }}"
        )
    if isinstance(named, GraphQLObjectType):
        inner = _leaves(named) if deep or "id" not in named.fields else "__typename id"
        return f"{name} {{ {inner} }}"
    return f"{name} {{ __typename }}"


def _all_fields(object_type: GraphQLObjectType) -> str:
    parts = [_field_selection(name, field) for name, field in object_type.fields.items()]
    return " ".join(["__typename", *(p for p in parts if p)])


def _page_variants(object_type: GraphQLObjectType) -> list[str]:
    """Each connection field of the type at its pagination edges."""
    variants: list[str] = []
    for name, field in object_type.fields.items():
        named = get_named_type(field.type)
        if not _is_connection(named):
            continue
        variants += [
            _connection(f"a: {name}", named, "(first: 0)"),
            _connection(f"b: {name}", named, "(first: 1)"),
        ]
        if "last" in field.args:
            variants.append(_connection(f"c: {name}", named, "(last: 1)"))
    return variants


async def _world(client: GraphQLClient, db_session: AsyncSession, clock: Clock) -> World:
    host, candidate, stranger, moderator, admin = [
        await client.sign_up(n) for n in ("host", "cand", "stranger", "moderator", "admin")
    ]
    await set_role(db_session, moderator, "MODERATOR")
    await set_role(db_session, admin, "ADMIN")
    spec = await new_specialization(db_session)
    await publish(client, host, spec, tomorrow(clock, 5), title="Still open")
    slot = await publish(client, host, spec, tomorrow(clock))
    interview = (await book(client, candidate, slot))["id"]
    for n, author in enumerate((host, candidate, host)):
        await client.data(
            "mutation($i: ID!, $b: String!) { sendMessage(interviewId: $i, body: $b) { id } }",
            {"i": interview, "b": f"message {n} ✓"},
            token=author.access_token,
        )
    key = db_id(interview)
    db_session.add_all(
        [
            Feedback(
                interview_id=key,
                author_id=db_id(host.id),
                subject_id=db_id(candidate.id),
                subject_was_interviewer=False,
                rating=4,
                comment="clear and well prepared",
            ),
            NoShowReport(interview_id=key, reporter_id=db_id(host.id), accused_id=db_id(candidate.id)),
        ]
    )
    await db_session.flush()
    await _keys_blocks_and_deliveries(client, db_session, clock, host, moderator)
    viewers = {
        "anonymous": None,
        "host": host.access_token,
        "candidate": candidate.access_token,
        "stranger": stranger.access_token,
        "moderator": moderator.access_token,
        "admin": admin.access_token,
    }
    return World(viewers, await _ids(db_session))


async def _keys_blocks_and_deliveries(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock, host: Member, moderator: Member
) -> None:
    """API keys (one revoked), block records (one lifted, one in force), a webhook and deliveries
    (one failed, one through the webhook)."""
    for name in ("ci", "old laptop"):
        created = await client.data(
            "mutation($n: String!) { createApiKey(name: $n, scope: READ) { apiKey { id } } }",
            {"n": name},
            token=host.access_token,
        )
    await client.data(
        "mutation($i: ID!) { revokeApiKey(id: $i) { id } }",
        {"i": created["createApiKey"]["apiKey"]["id"]},
        token=host.access_token,
    )
    blocked = await client.sign_up("blocked")
    block = (
        "mutation($u: ID!, $r: String!, $t: DateTime) { blockUser(userId: $u, reason: $r, until: $t) { id } }"
    )
    for reason, until in (("spam", tomorrow(clock).isoformat()), ("abuse", None)):
        variables = {"u": blocked.id, "r": reason, "t": until}
        await client.data(block, variables, token=moderator.access_token)
        if until is not None:
            unblock = "mutation($u: ID!) { unblockUser(userId: $u) { id } }"
            await client.data(unblock, {"u": blocked.id}, token=moderator.access_token)
    webhook = await client.data(
        "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { webhook { id } } }",
        {"i": {"url": "https://hooks.example.com/mock", "events": ["BOOKED", "REMINDER"]}},
        token=host.access_token,
    )
    notification = await db_session.scalar(
        select(Notification).where(Notification.user_id == db_id(host.id)).limit(1)
    )
    assert notification is not None
    common = {"notification_id": notification.id, "user_id": notification.user_id, "kind": notification.kind}
    db_session.add_all(
        [
            Delivery(**common, channel="EMAIL", status="FAILED", attempts=5, last_error="mailbox full"),
            Delivery(**common, channel="TELEGRAM", status="SENT", attempts=1, sent_at=clock.now()),
            Delivery(
                **common,
                channel="WEBHOOK",
                webhook_id=db_id(webhook["createWebhook"]["webhook"]["id"]),
                status="SENT",
                attempts=2,
                response_status=204,
            ),
        ]
    )
    await db_session.flush()


async def _ids(db_session: AsyncSession) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {}
    for name, cls in _mapped_types().items():
        model = cls.__model__
        keys = (await db_session.scalars(select(model.id).order_by(model.id).limit(4))).all()
        ids[name] = [to_global_id(name, k) for k in keys]
    return ids


@pytest.fixture
async def world(client: GraphQLClient, db_session: AsyncSession, clock: Clock) -> World:
    return await _world(client, db_session, clock)


async def test_every_node_type_and_field_is_equal_on_both_paths(
    client: GraphQLClient, app_state: Services, world: World, fetch_raw_calls: list[str]
) -> None:
    schema: GraphQLSchema = graphql_schema()
    compiled_any = 0
    for name in _mapped_types():
        object_type = schema.type_map[name]
        assert isinstance(object_type, GraphQLObjectType)
        assert world.ids[name], f"the world has no {name}"
        selections = [_all_fields(object_type), *_page_variants(object_type)]
        for selection in selections:
            query = f"query($id: ID!) {{ node(id: $id) {{ ... on {name} {{ {selection} }} }} }}"
            for node_id in world.ids[name]:
                for token in world.viewers.values():
                    _, compiled = await both_paths(
                        client, app_state, query, {"id": node_id}, token, fetch_raw_calls
                    )
                    compiled_any += compiled
    assert compiled_any


async def test_every_field_of_a_mapped_type_compiles(
    client: GraphQLClient, app_state: Services, world: World, fetch_raw_calls: list[str]
) -> None:
    schema = graphql_schema()
    not_compiled: set[str] = set()
    for name in _mapped_types():
        object_type = schema.type_map[name]
        assert isinstance(object_type, GraphQLObjectType)
        for field_name, field in object_type.fields.items():
            selection = _field_selection(field_name, field, deep=False)
            if selection is None:
                continue
            query = f"query($id: ID!) {{ node(id: $id) {{ ... on {name} {{ {selection} }} }} }}"
            before = len(fetch_raw_calls)
            _, compiled = await both_paths(
                client, app_state, query, {"id": world.ids[name][0]}, world.viewers["admin"], fetch_raw_calls
            )
            # A field without a SQL form is a hole its resolver fills (schema/compiled/holes.py).
            holes = any(HOLE_MARK in sql for sql in fetch_raw_calls[before:])
            if not compiled or holes:
                not_compiled.add(f"{name}.{field_name}")
    assert sorted(not_compiled) == sorted(RESOLVER_ONLY), " ".join(sorted(not_compiled))


async def test_every_root_connection_is_equal_on_both_paths_at_its_edges(
    client: GraphQLClient, app_state: Services, world: World, fetch_raw_calls: list[str]
) -> None:
    schema = graphql_schema()
    query_type = schema.query_type
    assert query_type is not None
    checked, not_compiled = 0, set()
    for name, field in query_type.fields.items():
        named = get_named_type(field.type)
        if not _is_connection(named) or _needs_arguments(field):
            continue
        node = get_named_type(get_named_type(named.fields["edges"].type).fields["node"].type)
        nodes = _all_fields(node) if isinstance(node, GraphQLObjectType) else "__typename"
        compiled_for_someone = False
        for token in world.viewers.values():
            cursor = None
            for first in (0, 1, 2, None):
                arguments = "" if first is None else f"(first: {first})"
                query = f"{{ {name}{arguments} {{ edges {{ cursor node {{ {nodes} }} }} {PAGE_INFO} }} }}"
                result, _ = await both_paths(client, app_state, query, {}, token, fetch_raw_calls)
                page = (result.get("data") or {}).get(name)
                if page and first == 1:
                    cursor = page["pageInfo"]["endCursor"]
            ids_only = f"{{ {name}(first: 2) {{ edges {{ cursor node {{ __typename id }} }} {PAGE_INFO} }} }}"
            _, compiled = await both_paths(client, app_state, ids_only, {}, token, fetch_raw_calls)
            compiled_for_someone |= compiled
            if cursor is not None:
                query = (
                    f"query($c: String) {{ {name}(first: 2, after: $c) "
                    f"{{ edges {{ cursor node {{ {nodes} }} }} {PAGE_INFO} }} }}"
                )
                await both_paths(client, app_state, query, {"c": cursor}, token, fetch_raw_calls)
            checked += 1
        if not compiled_for_someone:
            not_compiled.add(name)
    assert checked >= 5
    assert sorted(not_compiled) == sorted(RESOLVER_ONLY_ROOTS), " ".join(sorted(not_compiled))
