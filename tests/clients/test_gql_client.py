"""Python gql 4, set up as docs/clients.md shows (gql_client.py), against a real server: sign-up and
a query with the token, a live board event over graphql-ws, an avatar upload whose URL serves the
file, persisted queries over GET, a subscription that reconnects with a refreshed token after the
server closed its socket on expiry, and a refused token refreshed once for concurrent requests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from gql import FileVar, GraphQLRequest, gql
from gql.client import AsyncClientSession

from tests.clients.gql_client import Session, http_client, subscribe
from tests.clients.support import ACCESS_TTL_SECONDS, Api, Exchange, Traffic, record_traffic, serving

pytestmark = pytest.mark.slow

SIGN_UP = gql("""
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { accessToken refreshToken expiresIn user { id email points } }
}
""")
ME = gql("query Me { me { id email points } }")
BOARD_EVENTS = gql("""
subscription BoardEvents($specializationId: ID) {
  openSlotsChanged(specializationId: $specializationId) { kind slot { id title startsAt } }
}
""")
UPLOAD_AVATAR = gql("""
mutation UploadAvatar($file: Upload!) {
  uploadAvatar(file: $file) { id url contentType width height }
}
""")
OPEN_SLOTS = gql("""
query OpenSlots($specializationId: ID) {
  openSlots(specializationId: $specializationId, first: 5) { edges { node { id title } } }
}
""")
CREATE_SLOT = gql("mutation CreateSlot($input: CreateSlotInput!) { createSlot(input: $input) { id } }")
# The server accepts an access token this long after it expired (app/core/tokens.py).
TOKEN_LEEWAY_SECONDS = 5
_slot_hours = itertools.count(50, 2)


@dataclass
class Run:
    """What the set-up did and saw."""

    email: str = ""
    me: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    reconnections: int = 0
    first_slots: list[str] = field(default_factory=list)
    slots_after_reconnect: list[str] = field(default_factory=list)
    avatar: dict[str, Any] = field(default_factory=dict)
    apq: list[Exchange] = field(default_factory=list)
    refused: list[Exchange] = field(default_factory=list)
    after_refresh: list[dict[str, Any]] = field(default_factory=list)
    traffic: Traffic = field(default_factory=Traffic)


async def publish_until_seen(api: AsyncClientSession, specialization_id: str, run: Run) -> list[str]:
    """Publish slots until the subscription reports one (it is live shortly after it was sent)."""
    published: list[str] = []
    for _ in range(4):
        starts_at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        starts_at += timedelta(hours=next(_slot_hours))
        slot: dict[str, Any] = {"specializationId": specialization_id, "startsAt": starts_at.isoformat()}
        slot |= {"durationMinutes": 60, "videoLink": "https://meet.example.com/py", "title": "gql"}
        created = await api.execute(GraphQLRequest(CREATE_SLOT, variable_values={"input": slot}))
        published.append(created["createSlot"]["id"])
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            if any(e["kind"] == "PUBLISHED" and e["slot"]["id"] in published for e in run.events):
                return published
            await asyncio.sleep(0.05)
    raise AssertionError(f"no live event for any of the slots {published}")


async def wait_for(what: str, ready: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def persisted_queries(api: AsyncClientSession, specialization_id: str, run: Run) -> None:
    start = len(run.traffic.exchanges)
    board = await api.execute(
        GraphQLRequest(OPEN_SLOTS, variable_values={"specializationId": specialization_id})
    )
    again = await api.execute(
        GraphQLRequest(OPEN_SLOTS, variable_values={"specializationId": specialization_id})
    )
    assert again == board
    run.apq = run.traffic.exchanges[start:]


async def refused_token(api: AsyncClientSession, session: Session, first_access_token: str, run: Run) -> None:
    """A token the server refuses although the client believes it fresh: refreshed once, retried."""
    assert session.refresh_token is not None
    session.start(
        {"accessToken": first_access_token, "refreshToken": session.refresh_token, "expiresIn": 900}
    )
    start = len(run.traffic.exchanges)
    queries = [gql(f"query Me_{name} {{ me {{ {name} }} }}") for name in ("id", "email", "points")]
    results = await asyncio.gather(*(api.execute(query) for query in queries))
    run.refused = run.traffic.exchanges[start:]
    run.after_refresh = [result["me"] for result in results]


@contextlib.asynccontextmanager
async def follow_board(
    session: Session, ws_url: str, specialization_id: str, run: Run
) -> AsyncIterator[None]:
    """The board's events in `run.events` while the context lasts."""

    events = run.events

    def refetch() -> None:
        run.reconnections += 1

    async def follow() -> None:
        request = GraphQLRequest(BOARD_EVENTS, variable_values={"specializationId": specialization_id})
        async for event in subscribe(session, ws_url, request, on_reconnect=refetch):
            events.append(event["openSlotsChanged"])

    task = asyncio.create_task(follow())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def use_the_set_up(target: Api, avatar: Path, run: Run) -> None:
    graphql_url, ws_url, specialization_id = target.graphql_url, target.ws_url, target.specialization_id
    avatar_path = str(avatar)
    run.email = f"gql-{secrets.token_hex(4)}@example.com"
    new_member = {"email": run.email, "password": "correct horse battery", "displayName": "Py"}

    session = Session(graphql_url)
    async with http_client(session, graphql_url) as api:
        signed_up = await api.execute(GraphQLRequest(SIGN_UP, variable_values={"input": new_member}))
        session.start(signed_up["signUp"])
        me = (await api.execute(ME))["me"]
        signed_up_at, first_access_token, run.me = time.monotonic(), signed_up["signUp"]["accessToken"], me

        async with follow_board(session, ws_url, specialization_id, run):
            run.first_slots = await publish_until_seen(api, specialization_id, run)

            upload = GraphQLRequest(
                UPLOAD_AVATAR, variable_values={"file": FileVar(avatar_path, content_type="image/png")}
            )
            uploaded = (await api.execute(upload, upload_files=True))["uploadAvatar"]
            run.avatar = uploaded

            await persisted_queries(api, specialization_id, run)
            await wait_for("a reconnection", lambda: run.reconnections > 0, ACCESS_TTL_SECONDS + 20)
            run.slots_after_reconnect = await publish_until_seen(api, specialization_id, run)

        expired_at = signed_up_at + ACCESS_TTL_SECONDS + TOKEN_LEEWAY_SECONDS + 1
        await asyncio.sleep(max(0.0, expired_at - time.monotonic()))
        await refused_token(api, session, first_access_token, run)


@pytest.fixture(scope="module")
async def run(clients_db: str, redis_url: str, avatar: Path) -> AsyncIterator[Run]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        result = Run(traffic=record_traffic(monkeypatch))
        async with serving(clients_db, redis_url) as target:
            await use_the_set_up(target, avatar, result)
            yield result


def test_sign_up_and_a_query_carry_the_member(run: Run) -> None:
    assert run.me["email"] == run.email
    assert run.me["points"] == 1
    me = [e for e in run.traffic.exchanges if e.operation == "Me" and e.status == 200]
    assert me[-1].cache_control == "private, no-store"


def test_a_subscription_receives_the_board_event_of_a_mutation(run: Run) -> None:
    published = {e["slot"]["id"] for e in run.events if e["kind"] == "PUBLISHED"}
    assert run.first_slots[-1] in published


def test_the_avatar_upload_is_served_at_its_url(run: Run, avatar: Path) -> None:
    assert (run.avatar["contentType"], run.avatar["width"], run.avatar["height"]) == ("image/png", 24, 12)
    served = httpx.get(run.avatar["url"], timeout=10)
    assert served.status_code == 200
    assert served.content == avatar.read_bytes()


def test_a_persisted_query_misses_once_then_runs_by_hash_over_get(run: Run) -> None:
    miss, registered, hit = [e for e in run.apq if e.operation == "OpenSlots"]
    assert (miss.method, miss.has_query, miss.codes) == ("GET", False, ["PERSISTED_QUERY_NOT_FOUND"])
    assert (registered.method, registered.has_query, registered.status, registered.codes) == (
        "POST",
        True,
        200,
        [],
    )
    assert (hit.method, hit.has_query, hit.status, hit.codes) == ("GET", False, 200, [])
    assert hit.data["openSlots"]["edges"]
    assert hit.cache_control == "private, no-store"


def test_the_subscription_reconnects_with_a_fresh_token_after_expiry(run: Run) -> None:
    assert run.reconnections >= 1
    published = {e["slot"]["id"] for e in run.events if e["kind"] == "PUBLISHED"}
    assert run.slots_after_reconnect[-1] in published
    assert any(e.operation == "RefreshTokens" for e in run.traffic.exchanges)


def test_a_refused_token_is_refreshed_once_and_the_requests_retried(run: Run) -> None:
    unauthenticated = {e.operation for e in run.refused if e.codes == ["UNAUTHENTICATED"]}
    assert unauthenticated == {"Me_id", "Me_email", "Me_points"}
    assert [e.operation for e in run.refused].count("RefreshTokens") == 1
    assert run.after_refresh == [{"id": run.me["id"]}, {"email": run.email}, {"points": 1}]
