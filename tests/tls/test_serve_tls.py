"""`mockinterview serve --ssl-certfile/--ssl-keyfile` end to end, with everything on TLS: HTTPS and WSS to
the clients, `sslmode=verify-full` to PostgreSQL, `rediss://` to Redis; the clients trust only the
test CA."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import ssl
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
import websockets
from redis.asyncio import Redis

from db.migrate import upgrade
from tests.helpers import GraphQLClient, Member, db_id
from tests.live.support import BOARD, TRANSPORT_WS, WsClient
from tests.process import ROOT
from tests.tls.ca import TestCA
from tests.tls.conftest import rediss_url, verify_full_url
from tests.tls.servers import client_context, serving_tls

pytestmark = pytest.mark.slow
PREFIX = f"tls-serve-{secrets.token_hex(3)}:"


@pytest.fixture(scope="module")
async def serve_database(postgres_tls_port: int, ca: TestCA) -> str:
    admin = await asyncpg.connect(verify_full_url(postgres_tls_port, ca.cert_path))
    try:
        await admin.execute("CREATE DATABASE served")
    finally:
        await admin.close()
    url = verify_full_url(postgres_tls_port, ca.cert_path, "served")
    await asyncio.to_thread(upgrade, url)
    return url


@pytest.fixture(scope="module")
def https_base(
    serve_database: str, redis_tls_port: int, ca: TestCA, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    cert = ca.issue("https")
    env = {
        "APP_ENV": "development",
        "DATABASE_URL": serve_database,
        "REDIS_URL": rediss_url(redis_tls_port, ca.cert_path),
        "REDIS_PREFIX": PREFIX,
        "SECRET_KEY": "tls-test-" + secrets.token_urlsafe(32),
        "DATA_DIR": str(tmp_path_factory.mktemp("serve-data")),
        "PUBLIC_BASE_URL": "",
    }
    args = ("--ssl-certfile", str(cert.certfile), "--ssl-keyfile", str(cert.keyfile))
    with serving_tls(env, ca.cert_path, extra_args=args) as base:
        yield base


@pytest.fixture
async def https(https_base: str, ca: TestCA) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=https_base, verify=client_context(ca.cert_path), timeout=30
    ) as http:
        yield http


async def _admin(serve_database: str, member: Member) -> None:
    connection = await asyncpg.connect(serve_database)
    try:
        await connection.execute("UPDATE users SET role = 'ADMIN' WHERE id = $1", db_id(member.id))
    finally:
        await connection.close()


async def _wss(https_base: str, ca: TestCA, token: str) -> WsClient:
    url = https_base.replace("https://", "wss://", 1) + "/graphql"
    socket_ = await websockets.connect(url, ssl=client_context(ca.cert_path), subprotocols=[TRANSPORT_WS])  # type: ignore[list-item]
    client = WsClient(socket_, TRANSPORT_WS)
    await client.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    await client.acknowledged()
    return client


CREATE_SPECIALIZATION = "mutation($n: String!) { createSpecialization(name: $n) { id } }"
CREATE_SLOT = """mutation($input: CreateSlotInput!) { createSlot(input: $input) { id } }"""


async def test_query_over_https_and_a_subscription_over_wss(
    https: httpx.AsyncClient, https_base: str, serve_database: str, redis_tls_port: int, ca: TestCA
) -> None:
    client = GraphQLClient(https)
    host = await client.sign_up("tls-host")
    reply = await client.post("{ me { id email } }", token=host.access_token)
    assert reply.json()["data"]["me"]["id"] == host.id
    assert reply.headers["strict-transport-security"].startswith("max-age=")  # the app saw https
    await _admin(serve_database, host)
    topic = await client.data(
        CREATE_SPECIALIZATION, {"n": f"TLS {secrets.token_hex(3)}"}, token=host.access_token
    )

    watcher = await client.sign_up("tls-watcher")
    ws = await _wss(https_base, ca, watcher.access_token)
    try:
        await ws.subscribe(BOARD)
        await asyncio.sleep(0.5)  # the subscription reaches Redis before the slot is published
        starts = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()
        slot_input = {
            "specializationId": topic["createSpecialization"]["id"],
            "startsAt": starts,
            "durationMinutes": 60,
            "videoLink": "https://meet.example.com/tls",
        }
        created = await client.data(CREATE_SLOT, {"input": slot_input}, token=host.access_token)
        event = await ws.next_data(wait=10)
    finally:
        await ws.close()
    assert event["openSlotsChanged"]["kind"] == "PUBLISHED"
    assert event["openSlotsChanged"]["slot"]["id"] == created["createSlot"]["id"]
    # The signups were counted in the TLS Redis, not in the per-process fallback.
    redis = Redis.from_url(rediss_url(redis_tls_port, ca.cert_path))
    try:
        assert [key async for key in redis.scan_iter(match=f"{PREFIX}ratelimit:*")]
    finally:
        await redis.aclose()


async def test_links_are_https_and_untrusted_or_plain_clients_get_nothing(
    https: httpx.AsyncClient, https_base: str, wrong_ca: TestCA
) -> None:
    client = GraphQLClient(https)
    member = await client.sign_up("tls-links")
    me = await client.data("{ me { calendarFeedUrl } }", token=member.access_token)
    assert me["me"]["calendarFeedUrl"].startswith(https_base + "/")  # PUBLIC_BASE_URL follows --ssl-*
    untrusting = httpx.AsyncClient(verify=client_context(wrong_ca.cert_path))
    async with untrusting, httpx.AsyncClient(timeout=5) as plain:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await untrusting.get(f"{https_base}/healthz")
        with pytest.raises(httpx.HTTPError):
            await plain.get(https_base.replace("https://", "http://", 1) + "/healthz")


def test_only_tls_1_2_and_later_are_offered(https_base: str, ca: TestCA) -> None:
    port = int(https_base.rsplit(":", 1)[1])
    context = client_context(ca.cert_path)
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    # A client that offers only TLS 1.0/1.1 (its own security level lowered, so it really does) is
    # refused by the server (it closes the handshake), not by the client itself.
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(ca.cert_path)
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # naming the old versions is deprecated
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    with (
        pytest.raises(ssl.SSLError, match=r"UNEXPECTED_EOF|ALERT_PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL"),
        socket.create_connection(("127.0.0.1", port)) as raw,
        old.wrap_socket(raw, server_hostname="127.0.0.1"),
    ):
        pass


def _serve_exit(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli.commands", "serve", "--port", "1", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_refuses_unusable_tls_settings(ca: TestCA, tmp_path: Path) -> None:
    one, other = ca.issue("one"), ca.issue("other")
    base = {"DATA_DIR": str(tmp_path), "DATABASE_URL": "", "SSL_CERTFILE": "", "SSL_KEYFILE": ""}
    alone = _serve_exit({**base, "SSL_KEYFILE": str(one.keyfile)})
    assert alone.returncode == 2
    assert "needs --ssl-certfile" in alone.stderr
    mismatched = _serve_exit(
        {**base, "SSL_CERTFILE": str(one.certfile), "SSL_KEYFILE": str(other.keyfile)}  # settings spelling
    )
    assert mismatched.returncode == 2
    assert "cannot use" in mismatched.stderr
    missing = _serve_exit(base, "--ssl-certfile", str(tmp_path / "absent.pem"))
    assert missing.returncode == 2
    assert not (tmp_path / "pgdata").exists()  # refused before creating anything
