"""Real `mockinterview serve` processes, real sockets: events cross instances through Redis."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app.core.settings import Settings
from app.core.tokens import AccessTokens
from db.migrate import upgrade
from schema.ids import to_global_id
from tests import infra
from tests.helpers import GraphQLClient, Member, db_id
from tests.live.support import BOARD, INTERVIEW_UPDATED, MESSAGE_ADDED, WsClient, ws_url
from tests.live.test_events_hub import RedisProcess
from tests.marketplace_support import publish
from tests.process import running_server

pytestmark = pytest.mark.slow

SECRET = "cluster-test-" + secrets.token_urlsafe(32)
SEND = "mutation($id: ID!, $body: String!) { sendMessage(interviewId: $id, body: $body) { id } }"
BOOK = "mutation($id: ID!) { bookSlot(slotId: $id) { id } }"


@pytest.fixture(scope="module")
async def cluster_db(postgres_server: str) -> AsyncIterator[str]:
    name = infra.fresh_database_name()
    url = await infra.create_database(postgres_server, name)
    await asyncio.to_thread(upgrade, url)
    yield url
    await infra.drop_database(postgres_server, name)


def server_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        "REDIS_PREFIX": f"cluster-{secrets.token_hex(4)}:",
        "WS_CONNECTION_INIT_TIMEOUT_SECONDS": "1",
        "RATE_LIMIT_SIGNUP_PER_IP": "10000",
        "ARGON2_TIME_COST": "2",
    }


@pytest.fixture(scope="module")
def two_instances(cluster_db: str, redis_url: str) -> Iterator[tuple[str, str]]:
    env = server_env(cluster_db, redis_url)
    with running_server(env) as a, running_server(env) as b:
        yield a, b


async def specialization(database_url: str) -> str:
    connection = await asyncpg.connect(database_url)
    try:
        key = await connection.fetchval(
            "INSERT INTO specializations (name) VALUES ($1) RETURNING id", f"Cluster {secrets.token_hex(3)}"
        )
    finally:
        await connection.close()
    return to_global_id("Specialization", int(key))


async def booked(http: GraphQLClient, database_url: str) -> tuple[Member, Member, Member, str, str]:
    host, candidate, stranger = [await http.sign_up(n) for n in ("host", "cand", "stranger")]
    spec = await specialization(database_url)
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    slot_id = await publish(http, host, spec, start)
    interview = (await http.data(BOOK, {"id": slot_id}, token=candidate.access_token))["bookSlot"]["id"]
    return host, candidate, stranger, interview, spec


async def next_result(ws: WsClient, field: str, *, slot_id: str | None = None) -> dict[str, Any]:
    """The next result of `field` (of the slot `slot_id`, for the board). Events of the board that
    `booked` changed are announced after their commits, off the request path, and may still arrive
    after the subscriptions began: they are skipped."""
    while True:
        data = await ws.next_data()
        if field in data and (slot_id is None or (data[field].get("slot") or {}).get("id") == slot_id):
            result: dict[str, Any] = data[field]
            return result
        assert set(data) == {"openSlotsChanged"}, data


async def test_message_sent_on_b_reaches_subscriber_on_a(
    two_instances: tuple[str, str], cluster_db: str
) -> None:
    a, b = two_instances
    async with httpx.AsyncClient(base_url=b, timeout=10) as raw:
        http = GraphQLClient(raw)
        host, candidate, _, interview_id, spec = await booked(http, cluster_db)
        ws = await WsClient.open(ws_url(a), token=host.access_token)
        await ws.acknowledged()
        await ws.subscribe(MESSAGE_ADDED, {"id": interview_id})
        await ws.subscribe(BOARD, {"spec": spec})
        await asyncio.sleep(0.3)  # the SUBSCRIBE reaches Redis
        sent = await http.data(SEND, {"id": interview_id, "body": "across"}, token=candidate.access_token)
        message = await next_result(ws, "messageAdded")
        assert message == {"id": sent["sendMessage"]["id"], "body": "across", "author": {"id": candidate.id}}
        start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
        slot_id = await publish(http, host, spec, start)
        board = await next_result(ws, "openSlotsChanged", slot_id=slot_id)
        assert board["kind"] == "PUBLISHED"
        assert board["slot"]["id"] == slot_id
        assert board["slot"]["videoLink"] == "https://meet.example.com/room-1"  # the host sees it
        await ws.close()


async def test_refusals_use_the_protocol_close_codes(two_instances: tuple[str, str], cluster_db: str) -> None:
    a, b = two_instances
    async with httpx.AsyncClient(base_url=b, timeout=10) as raw:
        http = GraphQLClient(raw)
        _, _, stranger, interview_id, _ = await booked(http, cluster_db)
    # Outsider: the subscribe gets an error, the socket stays usable.
    ws = await WsClient.open(ws_url(a), token=stranger.access_token)
    await ws.acknowledged()
    await ws.subscribe(INTERVIEW_UPDATED, {"id": interview_id})
    refused = await ws.receive()
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "NOT_FOUND"
    await ws.close()
    # Expired token: 4403 Forbidden.
    tokens = AccessTokens(Settings(secret_key=SECRET))
    expired = tokens.issue(db_id(stranger.id), datetime.now(UTC) - timedelta(hours=2), uuid.uuid4())
    ws = await WsClient.open(ws_url(a), token=expired)
    assert await ws.closed_with() == 4403
    # No connection_init: 4408 after the (1 s) init timeout.
    began = time.monotonic()
    ws = await WsClient.open(ws_url(a), init=False)
    assert await ws.closed_with() == 4408
    assert time.monotonic() - began < 4


async def test_redis_restart_while_subscribed(cluster_db: str, tmp_path: Path) -> None:
    redis = RedisProcess(tmp_path)
    redis.start()
    try:
        with running_server(server_env(cluster_db, redis.url)) as base:
            async with httpx.AsyncClient(base_url=base, timeout=10) as raw:
                http = GraphQLClient(raw)
                host = await http.sign_up("host")
                spec = await specialization(cluster_db)
                ws = await WsClient.open(ws_url(base))
                await ws.acknowledged()
                await ws.subscribe(BOARD, {"spec": spec})
                await asyncio.sleep(0.3)
                start = (datetime.now(UTC) + timedelta(days=4)).replace(microsecond=0)
                before = await publish(http, host, spec, start)
                assert (await ws.next_data())["openSlotsChanged"]["slot"]["id"] == before
                redis.kill()
                during = await publish(http, host, spec, start + timedelta(hours=2))  # still committed
                redis.start()
                back_at = time.monotonic()
                created = [before, during]
                seen: list[str] = []
                while time.monotonic() - back_at < 5 and not seen:
                    created.append(await publish(http, host, spec, start + timedelta(hours=2 * len(created))))
                    seen += await drain(ws, 0.5)
                assert seen, "no event reached the subscriber within 5 s of Redis coming back"
                latency = time.monotonic() - back_at
                # From then on every event arrives, on the same socket (no reconnect).
                last = await publish(http, host, spec, start + timedelta(hours=2 * len(created)))
                created.append(last)
                seen += await drain(ws, 2.0, until=last)
                assert last in seen
                assert latency < 5
                board = await http.data(
                    "query($s: ID) { openSlots(specializationId: $s, first: 100) { edges { node { id } } } }",
                    {"s": spec},
                )
                # Nothing written to PostgreSQL was lost, including while Redis was down.
                assert {e["node"]["id"] for e in board["openSlots"]["edges"]} == set(created)
                await ws.close()
    finally:
        redis.kill()


async def drain(ws: WsClient, seconds: float, until: str | None = None) -> list[str]:
    """Slot IDs of board events received within `seconds` (stops early at `until`)."""
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            data: dict[str, Any] = await ws.next_data(remaining)
        except TimeoutError:
            break
        seen.append(data["openSlotsChanged"]["slot"]["id"])
        if seen[-1] == until:
            break
    return seen
