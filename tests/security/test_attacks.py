"""Attack tests: anonymous and under-privileged callers, BOLA with a second member, JWT forgeries,
login throttling, and a schema-driven fuzz run. Field lists come from the SDL, so new fields are covered."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import websockets
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from app.core.clock import Clock
from app.http.factory import create_app
from db.models import User
from tests.attack_support import (
    PUBLIC_MUTATIONS,
    RootField,
    dummy_value,
    multipart,
    named,
    operation_for,
    root_fields,
)
from tests.conftest import TEST_SECRET, make_settings
from tests.helpers import GraphQLClient, Member, db_id
from tests.two_instances import served

ROOTS = root_fields()
ME = "query { me { id } }"


async def call(
    http: httpx.AsyncClient, root: RootField, variables: dict[str, Any], token: str | None
) -> dict[str, Any]:
    """Run one root field; Upload arguments go as a multipart request. Never a 5xx."""
    query = operation_for(root)
    uploads = [n for n, a in root.field.args.items() if named(a.type).name == "Upload"]
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    if uploads:
        kwargs = multipart(query, variables, uploads)
        kwargs["headers"].update(auth)
        response = await http.post("/graphql", **kwargs)
    else:
        response = await http.post("/graphql", json={"query": query, "variables": variables}, headers=auth)
    assert response.status_code < 500, (root.name, response.text)
    body: dict[str, Any] = response.json()
    return body


def first_code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0].get("extensions", {}).get("code") if errors else None


async def promote(db_session: AsyncSession, member: Member, role: str) -> None:
    await db_session.execute(update(User).where(User.id == db_id(member.id)).values(role=role))
    await db_session.flush()


async def test_every_guarded_field_refuses_anonymous_callers(client: GraphQLClient) -> None:
    failures = []
    tried = 0
    for root in ROOTS:
        guarded = root.operation == "mutation" and root.name not in PUBLIC_MUTATIONS
        if not (guarded or root.directives & {"isAuthenticated", "requiresRole"}):
            continue
        tried += 1
        variables = {n: dummy_value(n, a.type) for n, a in root.field.args.items()}
        body = await call(client.http, root, variables, None)
        if first_code(body) != "UNAUTHENTICATED" or (body.get("data") or {}).get(root.name):
            failures.append((root.name, body))
    print(f"anonymous: {tried} guarded fields tried, {len(failures)} failures")
    assert tried >= 10
    assert failures == []


async def test_role_guarded_fields_refuse_members(client: GraphQLClient) -> None:
    member = await client.sign_up("plain")
    failures = []
    guarded = [r for r in ROOTS if r.roles and "MEMBER" not in r.roles]
    for root in guarded:
        variables = {n: dummy_value(n, a.type) for n, a in root.field.args.items()}
        body = await call(client.http, root, variables, member.access_token)
        if first_code(body) != "FORBIDDEN":
            failures.append((root.name, body))
    print(f"member vs @requiresRole: {len(guarded)} fields tried, {len(failures)} failures")
    assert {"blockUser", "setUserRole", "auditLog", "platformStats"} <= {r.name for r in guarded}
    assert failures == []


# --- BOLA ------------------------------------------------------------------------------------
# (field, type of the ID) pairs that are public by design: profiles, avatars, the slot board, booking.
PUBLIC_BY_DESIGN = {
    ("user", "User"),
    ("node", "User"),
    ("node", "Slot"),
    ("node", "Specialization"),
    ("avatar", "User"),
    ("openSlots", "Specialization"),
    ("bookSlot", "Slot"),
    ("createSlot", "Specialization"),
}


async def _owned_objects(
    client: GraphQLClient, owner: Member, partner: Member, admin: Member, clock: Clock
) -> dict[str, str]:
    """Objects of `owner` (and of owner+partner): type name -> global ID. Marketplace ones if present."""
    objects = {"User": owner.id}
    created = await client.data(
        'mutation { createApiKey(name: "k", scope: READ_WRITE) { apiKey { id } } }', token=owner.access_token
    )
    objects["ApiKey"] = created["createApiKey"]["apiKey"]["id"]
    hook = await client.data(
        'mutation { createWebhook(input: {url: "http://127.0.0.1:9/h", events: [BOOKED]}) '
        "{ webhook { id } } }",
        token=owner.access_token,
    )
    objects["Webhook"] = hook["createWebhook"]["webhook"]["id"]
    pdf = b"%PDF-1.4\n%%EOF\n"
    query = "mutation($f: Upload!) { uploadResume(file: $f) { id } }"
    kwargs = multipart(query, {"f": None}, ["f"])
    kwargs["files"] = {"0": ("r.pdf", pdf, "application/pdf")}
    kwargs["headers"]["Authorization"] = f"Bearer {owner.access_token}"
    objects["UploadedFile"] = (await client.http.post("/graphql", **kwargs)).json()["data"]["uploadResume"][
        "id"
    ]
    names = {r.name for r in ROOTS}
    if {"createSpecialization", "createSlot", "bookSlot"} <= names:
        spec = await client.execute(
            'mutation { createSpecialization(name: "BOLA topic") { id } }', token=admin.access_token
        )
        spec_id = (spec.get("data") or {}).get("createSpecialization", {}).get("id")
        starts = (clock.now() + timedelta(days=2)).replace(microsecond=0).isoformat()
        slot = await client.execute(
            """mutation($s: ID!, $t: DateTime!) { createSlot(input: {specializationId: $s, startsAt: $t,
              durationMinutes: 60, videoLink: "https://meet.example.com/secret"}) { id } }""",
            {"s": spec_id, "t": starts},
            token=owner.access_token,
        )
        slot_id = ((slot.get("data") or {}).get("createSlot") or {}).get("id")
        if slot_id:
            objects["Slot"] = slot_id
            booked = await client.execute(
                "mutation($s: ID!) { bookSlot(slotId: $s) { id } }",
                {"s": slot_id},
                token=partner.access_token,
            )
            interview_id = ((booked.get("data") or {}).get("bookSlot") or {}).get("id")
            if interview_id:
                objects["Interview"] = interview_id
                await client.execute(
                    'mutation($i: ID!) { sendMessage(interviewId: $i, body: "private words") { id } }',
                    {"i": interview_id},
                    token=owner.access_token,
                )
    notes = await client.execute(
        "query { notifications(unreadOnly: false) { edges { node { id } } } }", token=owner.access_token
    )
    edges = ((notes.get("data") or {}).get("notifications") or {}).get("edges") or []
    if edges:
        objects["Notification"] = edges[0]["node"]["id"]
    return objects


def _set_path(variables: dict[str, Any], path: str, value: str, root: RootField) -> None:
    parts = path.split(".")
    arg = root.field.args[parts[0]]
    if len(parts) == 1:
        variables[parts[0]] = [value] if named(arg.type) is not arg.type and "[" in str(arg.type) else value
        return
    _assign(variables.setdefault(parts[0], {}), parts[1:], value)


def _assign(target: Any, parts: list[str], value: str) -> None:
    """Set the ID at `parts` below `target`; inside a list of input objects, in each element."""
    if isinstance(target, list):
        for item in target:
            _assign(item, parts, value)
        return
    if len(parts) == 1:
        target[parts[0]] = value
        return
    _assign(target.setdefault(parts[0], {}), parts[1:], value)


def _leaked(value: Any) -> bool:
    if value in (None, 0, False, [], {}):
        return False
    if isinstance(value, dict) and "edges" in value:
        return bool(value["edges"])
    return True


async def test_second_member_cannot_reach_first_members_objects(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    owner = await client.sign_up("owner")
    partner = await client.sign_up("partner")
    attacker = await client.sign_up("attacker")
    admin = await client.sign_up("admin")
    await promote(db_session, admin, "ADMIN")
    objects = await _owned_objects(client, owner, partner, admin, clock)
    assert {"User", "ApiKey", "UploadedFile"} <= set(objects)
    tried = 0
    failures = []
    for root in ROOTS:
        paths = root.id_paths()
        if not paths or root.name in PUBLIC_MUTATIONS:
            continue
        for type_name, gid in objects.items():
            if (root.name, type_name) in PUBLIC_BY_DESIGN:
                continue
            variables = {n: dummy_value(n, a.type) for n, a in root.field.args.items()}
            for path in paths:
                _set_path(variables, path, gid, root)
            tried += 1
            body = await call(client.http, root, variables, attacker.access_token)
            value = (body.get("data") or {}).get(root.name)
            if _leaked(value) or first_code(body) == "INTERNAL_SERVER_ERROR":
                failures.append((root.name, type_name, body))
    print(f"BOLA: {len(objects)} object types {sorted(objects)}, {tried} calls, {len(failures)} failures")
    assert failures == []
    # The owner still sees their own things (the probes above were not vacuous).
    keys = await client.data("query { apiKeys { edges { node { id } } } }", token=owner.access_token)
    assert keys["apiKeys"]["edges"][0]["node"]["id"] == objects["ApiKey"]


# --- JWT (RFC 8725) --------------------------------------------------------------------------
def _claims(sub: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": "mockinterview",
        "aud": "mockinterview-api",
        "sub": sub,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "typ": "access",
        "jti": "x",
    }
    claims.update(overrides)
    return claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _handmade(header: dict[str, Any], claims: dict[str, Any], hmac_key: bytes | None) -> str:
    """A JWT built by hand (joserfc itself refuses to make these)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if hmac_key is None:
        return signing_input + "."
    signature = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


async def test_jwt_attacks_are_refused(client: GraphQLClient) -> None:
    member = await client.sign_up("jwt")
    sub = str(db_id(member.id))
    # The member's session (refresh-token family), as their access token names it.
    sid = json.loads(base64.urlsafe_b64decode(member.access_token.split(".")[1] + "=="))["sid"]
    secret = OctKey.import_key(TEST_SECRET.encode())
    header = {"alg": "HS256", "typ": "at+jwt"}
    valid = jwt.encode(header, _claims(sub, sid=sid), secret)
    assert (await client.data(ME, token=valid))["me"]["id"] == member.id  # the control works
    other = await client.sign_up("jwt-other")
    other_sid = json.loads(base64.urlsafe_b64decode(other.access_token.split(".")[1] + "=="))["sid"]

    rsa = RSAKey.generate_key(2048)
    public_pem = rsa.as_pem(private=False)
    attacks = {
        "alg none": _handmade({"alg": "none", "typ": "at+jwt"}, _claims(sub, sid=sid), None),
        "RS256 with attacker key": jwt.encode({"alg": "RS256", "typ": "at+jwt"}, _claims(sub, sid=sid), rsa),
        # The classic confusion: a verifier that takes the key from the token's alg would accept this.
        "HS256 keyed with a public key": _handmade(header, _claims(sub, sid=sid), public_pem),
        "wrong aud": jwt.encode(header, _claims(sub, sid=sid, aud="another-api"), secret),
        "wrong iss": jwt.encode(header, _claims(sub, sid=sid, iss="https://evil.example"), secret),
        "expired": jwt.encode(header, _claims(sub, sid=sid, exp=int(time.time()) - 3600), secret),
        "no typ header": jwt.encode({"alg": "HS256"}, _claims(sub, sid=sid), secret),
        "refresh typ claim": jwt.encode(header, _claims(sub, sid=sid, typ="refresh"), secret),
        # Revocation (docs/trust.md): tokens that name no session, an unknown one or another member's.
        "no sid (minted before sessions were named)": jwt.encode(header, _claims(sub), secret),
        "sid not a session id": jwt.encode(header, _claims(sub, sid="x"), secret),
        "unknown sid": jwt.encode(header, _claims(sub, sid=str(uuid.uuid4())), secret),
        "another member's sid": jwt.encode(header, _claims(sub, sid=other_sid), secret),
        "refresh token as access token": member.refresh_token,
    }
    for name, token in attacks.items():
        assert await client.error_code(ME, token=token) == "UNAUTHENTICATED", name


# --- Throttling ------------------------------------------------------------------------------
@pytest.fixture
async def strict_app(database_url: str, redis_url: str) -> AsyncIterator[Starlette]:
    settings = make_settings(database_url, redis_url, rate_limit_login_per_email=3, rate_limit_login_per_ip=6)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_login_is_throttled_per_email_and_per_ip(strict_app: Starlette) -> None:
    login = """mutation($e: String!) { logIn(input: {email: $e, password: "wrong password"}) {
      accessToken } }"""
    transport = httpx.ASGITransport(app=strict_app, client=("203.0.113.99", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        client = GraphQLClient(http)
        codes = [await client.error_code(login, {"e": "victim@example.com"}) for _ in range(4)]
        assert codes == ["UNAUTHENTICATED"] * 3 + ["RATE_LIMITED"]
        codes = [await client.error_code(login, {"e": f"spray{i}@example.com"}) for i in range(3)]
        assert codes[-1] == "RATE_LIMITED"  # the IP's budget (6) is spent across emails
        result = await client.execute(login, {"e": "other@example.com"})
        assert result["errors"][0]["extensions"]["retryAfter"] > 0


# --- Fuzzing ---------------------------------------------------------------------------------
async def test_schema_driven_fuzz_gets_only_coded_errors(
    client: GraphQLClient, db_session: AsyncSession
) -> None:
    """Every root field, every argument, edge-case values, as anonymous, member and admin."""
    from tests.fuzz_values import edge_values

    member = await client.sign_up("fuzz")
    admin = await client.sign_up("fuzzadmin")
    await promote(db_session, admin, "ADMIN")
    callers = {"anonymous": None, "member": member.access_token, "admin": admin.access_token}
    operations = 0
    failures: list[tuple[str, str, Any]] = []
    for root in ROOTS:
        if root.uses_upload or root.name in {"logOutAll", "changePassword"}:
            continue  # uploads are fuzzed in test_uploads; these two would end the fuzzing sessions
        good = {n: dummy_value(n, a.type) for n, a in root.field.args.items()}
        cases: list[dict[str, Any]] = [good]
        for name, arg in root.field.args.items():
            cases += [{**good, name: edge} for edge in edge_values(name, arg.type)]
        for caller, token in callers.items():
            for variables in cases:
                operations += 1
                query = operation_for(root)
                auth = {"Authorization": f"Bearer {token}"} if token else {}
                response = await client.http.post(
                    "/graphql", json={"query": query, "variables": variables}, headers=auth
                )
                problem = _fuzz_problem(response)
                if problem:
                    failures.append((f"{root.name} as {caller}", problem, variables))
    print(f"fuzz: {operations} operations over {len(ROOTS)} root fields, {len(failures)} failures")
    for failure in failures[:20]:
        print("  ", failure[0], failure[1], str(failure[2])[:200])
    assert operations > 1000
    assert failures == []


def _fuzz_problem(response: httpx.Response) -> str | None:
    if response.status_code >= 500:
        return f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        return "not JSON"
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if not code:
            return f"uncoded error: {error.get('message')!r}"
        if code == "INTERNAL_SERVER_ERROR":
            return "masked internal error (a bug behind it)"
        if "Traceback" in error.get("message", "") or "sqlalchemy" in error.get("message", "").lower():
            return f"leaky message: {error['message'][:200]!r}"
    return None


# --- Injection, CSRF, batching, websocket origins --------------------------------------------
async def test_sql_injection_strings_are_plain_data(client: GraphQLClient, db_session: AsyncSession) -> None:
    """Values only ever reach SQL as bound parameters; LIKE wildcards in a search are literal."""
    admin = await client.sign_up("injector")
    await promote(db_session, admin, "ADMIN")
    names = ["Robert'); DROP TABLE users;--", "100% Real", "under_score"]
    for name in names:
        member = await client.sign_up("x")
        update_name = "mutation($n: String!) { updateProfile(input: {displayName: $n}) { displayName } }"
        data = await client.data(update_name, {"n": name}, token=member.access_token)
        assert data["updateProfile"]["displayName"] == name
    search = "query($s: String!) { users(search: $s, first: 100) { edges { node { displayName } } } }"

    async def found(term: str) -> set[str]:
        data = await client.data(search, {"s": term}, token=admin.access_token)
        return {e["node"]["displayName"] for e in data["users"]["edges"]}

    assert await found("%") == {"100% Real"}
    assert await found("_") == {"under_score"}
    assert await found("' OR 1=1 --") == set()
    assert await found("'); DROP TABLE") == {names[0]}
    assert (await client.sign_up("after")).id  # the users table is still there
    forged_id = base64.b64encode(b"User:1 OR 1=1").decode()
    result = await client.execute("query($id: ID!) { user(id: $id) { id } }", {"id": forged_id})
    assert result["errors"][0]["extensions"]["code"] in ("BAD_USER_INPUT", "NOT_FOUND")


async def test_simple_cross_site_posts_and_batches_are_refused(client: GraphQLClient) -> None:
    """A foreign page can POST text/plain or a form without a preflight: neither is GraphQL here.
    Batches (a JSON array) are not enabled: one operation per request, so limits count per request."""
    query = 'mutation { logIn(input: {email: "a@example.com", password: "x"}) { accessToken } }'
    body = json.dumps({"query": query})
    for content_type, content in (
        ("text/plain", body),
        ("application/x-www-form-urlencoded", "query=" + query),
    ):
        response = await client.http.post("/graphql", content=content, headers={"content-type": content_type})
        assert response.status_code in (400, 415), (content_type, response.text)
        assert "accessToken" not in response.text
    batch = [{"query": "query { __typename }"}, {"query": "query { __typename }"}]
    response = await client.http.post("/graphql", json=batch)
    assert response.status_code == 400
    assert "Query" not in response.text


@pytest.fixture(scope="module")
async def ws_url(app: Starlette) -> AsyncIterator[str]:
    """The session app served by uvicorn on a free port (its lifespan already runs)."""
    async with served(app) as url:
        yield url


async def test_websockets_from_foreign_origins_are_refused(ws_url: str) -> None:
    """Cross-site WebSocket hijacking: a page elsewhere cannot open a socket (handshake 403) unless its
    origin is in WS_ALLOWED_ORIGINS (here none); same-origin pages and non-browser clients can."""
    protocols = [websockets.Subprotocol("graphql-transport-ws")]
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            ws_url, subprotocols=protocols, origin=websockets.Origin("https://evil.example")
        )
    assert refused.value.response.status_code == 403
    host = ws_url.split("/")[2]
    for origin in (websockets.Origin(f"http://{host}"), None):
        async with websockets.connect(ws_url, subprotocols=protocols, origin=origin) as socket:
            await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await socket.recv())["type"] == "connection_ack"
