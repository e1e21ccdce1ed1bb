"""Hostile inputs get coded errors: never INTERNAL_SERVER_ERROR, never an HTTP 5xx.

Property-based (hypothesis): every argument of every query and mutation, read from the schema, gets
values generated for its type by `tests.hostile_values` (NUL and lone surrogates, huge and odd
numbers, IDs of every shape, cursors of odd JSON, extreme DateTimes, deep lists), as an anonymous
caller, as a member and, for role-guarded fields, as an admin. Then explicit regressions for what an
attack review found answering INTERNAL_SERVER_ERROR.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

import httpx
import pytest
from graphql import GraphQLArgument
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from db.models import User
from tests.attack_support import RootField, global_id, graphql_schema, operation_for, root_fields
from tests.helpers import GraphQLClient, Member, db_id
from tests.hostile_values import argument_value, as_json_body, hostile_value
from tests.marketplace_support import book, new_specialization, publish, tomorrow

EXAMPLES = 20  # per root field; each example is one request per caller (about a minute in all)
ROOTS = [r for r in root_fields() if r.field.args]
SCHEMA = graphql_schema()
NO_HEALTH_CHECKS = list(HealthCheck)


@dataclass
class Callers:
    http: httpx.AsyncClient
    member: Member
    admin: Member

    def for_field(self, roles: tuple[str, ...]) -> dict[str, str | None]:
        tokens: dict[str, str | None] = {"anonymous": None, "member": self.member.access_token}
        if roles:
            tokens["admin"] = self.admin.access_token
        return tokens


@pytest.fixture
async def callers(client: GraphQLClient, db_session: AsyncSession) -> Callers:
    member = await client.sign_up("hostile")
    admin = await client.sign_up("hostileadmin")
    await db_session.execute(update(User).where(User.id == db_id(admin.id)).values(role="ADMIN"))
    await db_session.flush()
    return Callers(client.http, member, admin)


async def post(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None = None, **extra: Any
) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    body = as_json_body({"query": query, "variables": variables, **extra})
    return await http.post("/graphql", content=body, headers=headers)


def problem(response: httpx.Response) -> str | None:
    """What is wrong with a response to a hostile request, None when it is a proper refusal or result."""
    if response.status_code >= 500:
        return f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        return None if response.status_code == 400 else f"HTTP {response.status_code}, not JSON"
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if not code:
            return f"uncoded error {error.get('message')!r}"
        if code == "INTERNAL_SERVER_ERROR":
            return "INTERNAL_SERVER_ERROR"
    return None


@cache
def variables_for(coordinate: str) -> st.SearchStrategy[dict[str, Any]]:
    """Variables for the arguments of field `coordinate` ("Type.field"): one value per argument, with a
    single argument always a hostile one. Memoised: building the strategies reads the schema."""
    type_name, field_name = coordinate.split(".")
    arguments: dict[str, GraphQLArgument] = SCHEMA.type_map[type_name].fields[field_name].args  # type: ignore[attr-defined]
    if len(arguments) == 1:
        ((name, argument),) = arguments.items()
        return st.fixed_dictionaries({name: hostile_value(name, argument.type)})
    return st.fixed_dictionaries({n: argument_value(n, a.type) for n, a in arguments.items()})


async def assert_coded(
    callers: Callers, name: str, query: str, roles: tuple[str, ...], variables: Any
) -> None:
    for caller, token in callers.for_field(roles).items():
        response = await post(callers.http, query, variables, token)
        found = problem(response)
        assert found is None, f"{name} as {caller}: {found}; variables {json.dumps(variables)[:300]}"


# --- Property-based: every argument of every query and mutation ------------------------------------
@pytest.mark.parametrize("root", ROOTS, ids=lambda r: r.name)
@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=NO_HEALTH_CHECKS)
@given(data=st.data())
async def test_hostile_arguments_get_coded_errors(
    root: RootField, data: st.DataObject, callers: Callers
) -> None:
    coordinate = f"{'Query' if root.operation == 'query' else 'Mutation'}.{root.name}"
    variables = data.draw(variables_for(coordinate), label="variables")
    await assert_coded(callers, root.name, operation_for(root), root.roles, variables)


LEDGER = """query($first: Int, $after: String) { me { pointsLedger(first: $first, after: $after) {
  edges { cursor } } } }"""
MESSAGES = """query($first: Int, $after: String, $last: Int) { myInterviews { edges { node {
  messages(first: $first, after: $after, last: $last) { edges { cursor } } } } } }"""


@pytest.mark.parametrize(
    ("coordinate", "query"),
    [("User.pointsLedger", LEDGER), ("Interview.messages", MESSAGES)],
    ids=["User.pointsLedger", "Interview.messages"],
)
@settings(max_examples=3 * EXAMPLES, deadline=None, database=None, suppress_health_check=NO_HEALTH_CHECKS)
@given(data=st.data())
async def test_hostile_arguments_of_nested_connections_get_coded_errors(
    coordinate: str,
    query: str,
    data: st.DataObject,
    callers: Callers,
    booked: str,
) -> None:
    variables = data.draw(variables_for(coordinate), label="variables")
    await assert_coded(callers, coordinate, query, (), variables)


@pytest.fixture
async def booked(client: GraphQLClient, db_session: AsyncSession, clock: Clock, callers: Callers) -> str:
    """An interview of `callers.member` (as candidate), so its message connection is resolved."""
    host = await client.sign_up("hostilehost")
    slot_id = await publish(client, host, await new_specialization(db_session), tomorrow(clock))
    interview: dict[str, Any] = await book(client, callers.member, slot_id)
    return str(interview["id"])


# --- Regressions ----------------------------------------------------------------------------------
def _fields_of(result: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    return [
        ((e.get("extensions") or {}).get("code"), (e.get("extensions") or {}).get("field"))
        for e in result.get("errors") or []
    ]


async def refusal(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None = None
) -> tuple[str | None, str | None]:
    """(code, field) of the first error of a request that must be refused with a coded error."""
    response = await post(http, query, variables, token)
    assert response.status_code < 500, response.text
    result: dict[str, Any] = response.json()
    assert result.get("errors"), result
    return _fields_of(result)[0]


SURROGATE = "a\ud800b"
SIGN_UP = """mutation($e: String!, $p: String!, $n: String!) {
  signUp(input: {email: $e, password: $p, displayName: $n}) { accessToken } }"""
LOG_IN = "mutation($e: String!, $p: String!) { logIn(input: {email: $e, password: $p}) { accessToken } }"
CREATE_SLOT = "mutation($input: CreateSlotInput!) { createSlot(input: $input) { id } }"


async def test_lone_surrogates_in_string_arguments_are_bad_input(
    callers: Callers, booked: str, db_session: AsyncSession, clock: Clock
) -> None:
    http, member, admin = callers.http, callers.member.access_token, callers.admin.access_token
    spec = await new_specialization(db_session)
    slot = {
        "specializationId": spec,
        "startsAt": tomorrow(clock, 5).isoformat(),
        "durationMinutes": 60,
        "videoLink": "https://meet.example.com/x",
    }
    cases: list[tuple[str, dict[str, Any], str | None, str]] = [
        (LOG_IN, {"e": SURROGATE, "p": "long enough"}, None, "email"),
        (LOG_IN, {"e": "a@example.com", "p": SURROGATE * 4}, None, "password"),
        (SIGN_UP, {"e": f"{SURROGATE}@example.com", "p": "long enough", "n": "N"}, None, "email"),
        (SIGN_UP, {"e": "s1@example.com", "p": SURROGATE * 4, "n": "N"}, None, "password"),
        (SIGN_UP, {"e": "s2@example.com", "p": "long enough", "n": SURROGATE}, None, "displayName"),
        ("mutation($b: String) { updateProfile(input: {bio: $b}) { id } }", {"b": SURROGATE}, member, "bio"),
        (CREATE_SLOT, {"input": {**slot, "title": SURROGATE}}, member, "title"),
        (
            CREATE_SLOT,
            {"input": {**slot, "videoLink": f"https://x.example/{SURROGATE}"}},
            member,
            "videoLink",
        ),
        ("query($s: String) { users(search: $s) { edges { cursor } } }", {"s": SURROGATE}, admin, "search"),
        (
            "mutation($i: ID!, $b: String!) { sendMessage(interviewId: $i, body: $b) { id } }",
            {"i": booked, "b": SURROGATE},
            member,
            "body",
        ),
        (
            "mutation($n: String!) { createApiKey(name: $n, scope: READ) { secret } }",
            {"n": SURROGATE},
            member,
            "name",
        ),
        (
            "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }",
            {"c": SURROGATE, "n": "a new password"},
            member,
            "currentPassword",
        ),
        (
            "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }",
            {"c": "correct horse battery", "n": SURROGATE * 4},
            member,
            "newPassword",
        ),
    ]
    for query, variables, token, field in cases:
        assert await refusal(http, query, variables, token) == ("BAD_USER_INPUT", field), (query, field)


async def test_nul_and_surrogates_anywhere_in_variables_or_literals_are_bad_input(callers: Callers) -> None:
    http = callers.http
    assert await refusal(http, SIGN_UP, {"e": "a\x00b@example.com", "p": "long enough", "n": "N"}) == (
        "BAD_USER_INPUT",
        "email",
    )
    literal = (
        'mutation { logIn(input: {email: "a\\u0000b@example.com", password: "long enough"}) { accessToken } }'
    )
    assert await refusal(http, literal, {}) == ("BAD_USER_INPUT", "email")
    default = (
        'mutation($e: String = "a\\u0000") { logIn(input: {email: $e, password: "xxxxxxxx"}) { __typename } }'
    )
    assert await refusal(http, default, {}) == ("BAD_USER_INPUT", "e")
    # In a key of an input object, and in a value of the wrong type (both used to be echoed in messages).
    whole = "mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }"
    odd_key = {"i": {"email": "a@example.com", "password": "long enough", f"x{SURROGATE}": 1}}
    assert await refusal(http, whole, odd_key) == ("BAD_USER_INPUT", "input")
    assert await refusal(
        http, "query($f: Int) { openSlots(first: $f) { edges { cursor } } }", {"f": SURROGATE}
    ) == (
        "BAD_USER_INPUT",
        "first",
    )
    # Text the server echoes outside the arguments: a 400, never a 500.
    response = await post(http, "query A { me { id } }", {}, operationName=f"A{SURROGATE}")
    assert response.status_code == 400
    deep = b'{"query": "{ me { id } }", "variables": {"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    response = await http.post("/graphql", content=deep, headers={"content-type": "application/json"})
    assert response.status_code == 400


NODE = "query($id: ID!) { node(id: $id) { id } }"
BIGINT_MAX = 2**63 - 1


async def test_ids_out_of_bigint_range_or_not_integers_are_bad_input(callers: Callers) -> None:
    http, token = callers.http, callers.member.access_token
    malformed = [
        *(global_id("User", key) for key in (2**63, 2**64, 10**30, -(2**63) - 1)),
        *(
            global_id("User", key)
            for key in ("abc", "1.5", "1e3", " 1", "+1", "1_000", "\u0661", "", "1\x00")
        ),
        global_id("Nope", 1),  # no such type
        global_id("Node", 1),  # an interface, not an object type
        global_id("Query", 1),  # not a Node
        global_id("User", 1)[:-2],  # broken base64
        "not an id",
        "A" * 5000,
    ]
    typed = [
        ("query($id: ID!) { user(id: $id) { id } }", "id"),
        ("mutation($id: ID!) { bookSlot(slotId: $id) { id } }", "slotId"),
    ]
    for value in malformed:
        assert await refusal(http, NODE, {"id": value}, token) == ("BAD_USER_INPUT", "id"), value
        for query, field in typed:
            assert await refusal(http, query, {"id": value}, token) == ("BAD_USER_INPUT", field), (
                query,
                value,
            )
    # An ID of the wrong type names the argument too.
    assert await refusal(http, typed[1][0], {"id": callers.member.id}, token) == ("BAD_USER_INPUT", "slotId")
    # Well-formed IDs of nothing: null from `node`, NOT_FOUND from fields that need the object.
    for key in (0, -5, BIGINT_MAX, -(2**63)):
        result = await post(http, NODE, {"id": global_id("User", key)}, token)
        assert result.json() == {"data": {"node": None}}, key
        code = await refusal(http, typed[1][0], {"id": global_id("Slot", key)}, token)
        assert code == ("NOT_FOUND", None), key


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


ODD_JSON: list[Any] = [
    ["abc"],
    [None],
    [1e30],
    [True],
    [2**63],
    [1.5],
    [],
    {},
    "x",
    [[1]],
    [1, 2],
    ["abc", 1],
    [None, 1],
]
ODD_CURSORS = [_cursor(v) for v in ODD_JSON] + [
    _cursor(["9999-12-31T23:59:00-14:00", 1]),
    _cursor(["2031-01-01T10:00:00", 1]),  # no offset
    _cursor(["2031-01-01T10:00:00+00:00", 2**63]),
    _cursor(["2031-01-01T10:00:00+00:00", 1e30]),
    "not base64!",
    base64.urlsafe_b64encode(b"[" * 300).decode(),
    "",
]
# Every connection (a field with an `after` argument) and how to reach it.
CONNECTIONS = {
    "Query.users": ("query($a: String) { users(after: $a) { edges { cursor } } }", "admin"),
    "Query.auditLog": ("query($a: String) { auditLog(after: $a) { edges { cursor } } }", "admin"),
    "Query.noShowReports": ("query($a: String) { noShowReports(after: $a) { edges { cursor } } }", "admin"),
    "Query.apiKeys": ("query($a: String) { apiKeys(after: $a) { edges { cursor } } }", "member"),
    "Query.notifications": ("query($a: String) { notifications(after: $a) { edges { cursor } } }", "member"),
    "Query.openSlots": ("query($a: String) { openSlots(after: $a) { edges { cursor } } }", "anonymous"),
    "Query.myInterviews": ("query($a: String) { myInterviews(after: $a) { edges { cursor } } }", "member"),
    "Query.questions": (
        f'query($a: String) {{ questions(specializationId: "{global_id("Specialization", 1)}", after: $a) '
        "{ edges { cursor } } }",
        "member",
    ),
    "Query.activeBlocks": ("query($a: String) { activeBlocks(after: $a) { edges { cursor } } }", "admin"),
    "Query.blockHistory": (
        f'query($a: String) {{ blockHistory(userId: "{global_id("User", 1)}", after: $a) '
        "{ edges { cursor } } }",
        "admin",
    ),
    "User.pointsLedger": (
        "query($a: String) { me { pointsLedger(after: $a) { edges { cursor } } } }",
        "member",
    ),
    "Interview.messages": (
        "query($a: String) { myInterviews { edges { node { messages(after: $a) { edges { cursor } } } } } }",
        "member",
    ),
    "Query.failedDeliveries": (
        "query($a: String) { failedDeliveries(after: $a) { edges { cursor } } }",
        "admin",
    ),
    "Webhook.deliveries": (  # the member's webhook, created by the test
        "query($a: String) { webhooks { deliveries(after: $a) { edges { cursor } } } }",
        "member",
    ),
}
CREATE_WEBHOOK = """mutation { createWebhook(input: {url: "http://127.0.0.1:9/hook", events: [BOOKED]}) {
  secret } }"""


async def test_cursors_of_odd_json_are_bad_input_on_every_connection(callers: Callers, booked: str) -> None:
    schema = SCHEMA
    with_after = {
        f"{name}.{field_name}"
        for name, type_ in schema.type_map.items()
        if not name.startswith("__") and name != "Subscription"  # tests/live/test_resume.py
        for field_name, field in (getattr(type_, "fields", None) or {}).items()
        if "after" in getattr(field, "args", {})
    }
    assert with_after == set(CONNECTIONS)
    tokens = {"admin": callers.admin.access_token, "member": callers.member.access_token, "anonymous": None}
    assert (await post(callers.http, CREATE_WEBHOOK, {}, tokens["member"])).status_code == 200
    for name, (query, caller) in CONNECTIONS.items():
        for cursor in ODD_CURSORS:
            assert await refusal(callers.http, query, {"a": cursor}, tokens[caller]) == (
                "BAD_USER_INPUT",
                "after",
            ), (name, base64.urlsafe_b64decode(cursor + "==") if cursor else cursor)


EXTREME_TIMES = [
    "9999-12-31T23:59:00-14:00",
    "9999-12-31T23:59:59.999999+00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T24:00:00Z",
    "0999-12-31T23:59:59Z",
    "9000-01-01T00:00:01Z",
    "2031-01-01T10:00:00",  # no offset
]
TIME_ARGUMENTS = [
    ("query($t: DateTime) { openSlots(startsAfter: $t) { edges { cursor } } }", "anonymous"),
    ("query($t: DateTime) { openSlots(startsBefore: $t) { edges { cursor } } }", "member"),
    ("query($t: DateTime) { auditLog(since: $t) { edges { cursor } } }", "admin"),
    ("query($t: DateTime) { auditLog(until: $t) { edges { cursor } } }", "admin"),
    ('mutation($u: ID!, $t: DateTime) { blockUser(userId: $u, reason: "r", until: $t) { id } }', "admin"),
]


async def test_datetimes_that_would_overflow_are_bad_input(
    callers: Callers, db_session: AsyncSession, clock: Clock
) -> None:
    http = callers.http
    tokens = {"admin": callers.admin.access_token, "member": callers.member.access_token, "anonymous": None}
    spec = await new_specialization(db_session)
    for moment in EXTREME_TIMES:
        slot = {
            "specializationId": spec,
            "startsAt": moment,
            "durationMinutes": 180,
            "videoLink": "https://x.example",
        }
        code, _ = await refusal(http, CREATE_SLOT, {"input": slot}, tokens["member"])
        assert code == "BAD_USER_INPUT", moment
        for query, caller in TIME_ARGUMENTS:
            variables = {"t": moment, "u": callers.member.id}
            code, _ = await refusal(http, query, variables, tokens[caller])
            assert code == "BAD_USER_INPUT", (query, moment)
        literal = f'query {{ openSlots(startsAfter: "{moment}") {{ edges {{ cursor }} }} }}'
        assert (await refusal(http, literal, {}))[0] == "BAD_USER_INPUT", moment
    # The ends of the accepted range still work.
    ok = {"t": "1000-01-01T00:00:00+00:00"}
    assert (await post(http, TIME_ARGUMENTS[0][0], ok)).json()["data"]["openSlots"]["edges"] == []
    far = {"t": "8999-12-31T23:59:59-14:00"}
    assert "errors" not in (await post(http, TIME_ARGUMENTS[1][0], far)).json()
    later = (clock.now() + timedelta(days=3)).replace(microsecond=0).isoformat()
    slot = {
        "specializationId": spec,
        "startsAt": later,
        "durationMinutes": 180,
        "videoLink": "https://x.example",
    }
    assert "errors" not in (await post(http, CREATE_SLOT, {"input": slot}, tokens["member"])).json()


async def test_a_subscription_over_http_is_a_coded_4xx(callers: Callers, booked: str) -> None:
    schema = SCHEMA
    assert schema.subscription_type is not None
    documents = {
        "openSlotsChanged": "subscription { openSlotsChanged { kind } }",
        "interviewUpdated": "subscription($i: ID!) { interviewUpdated(id: $i) { id } }",
        "messageAdded": "subscription($i: ID!) { messageAdded(interviewId: $i) { id } }",
        "notificationAdded": "subscription { notificationAdded { id } }",
        "matchFound": "subscription { matchFound { matchedAt } }",
    }
    assert set(documents) == set(schema.subscription_type.fields)
    for accept in ("application/json", "application/graphql-response+json"):
        for document in documents.values():
            response = await callers.http.post(
                "/graphql",
                json={"query": document, "variables": {"i": booked}},
                headers={"accept": accept, "authorization": f"Bearer {callers.member.access_token}"},
            )
            assert response.status_code == 400, response.text
            errors = response.json()["errors"]
            assert [e["extensions"]["code"] for e in errors] == ["BAD_REQUEST"]
            assert "WebSocket" in errors[0]["message"]
