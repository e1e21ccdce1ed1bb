"""Operating the server: access logs, metrics, graceful shutdown of a real `mockinterview serve`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from app.core import metrics
from app.ops.logging_setup import JsonFormatter
from db.migrate import upgrade
from resolvers.unit_of_work import Services
from tests import infra
from tests.helpers import GraphQLClient

ME = "query WhoAmI { me { id email } }"
OPEN_SLOTS_CHANGED = "subscription Board { openSlotsChanged { kind } }"
LOG_IN = """
mutation LogIn($input: LogInInput!) { logIn(input: $input) { accessToken refreshToken } }
"""


def access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "mockinterview.access"]


async def test_access_log_line_has_request_id_operation_and_user_but_no_secrets(
    client: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    member = await client.sign_up("logger", password="hunter2 very secret")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="mockinterview.access"):
        response = await client.http.post(
            "/graphql",
            json={"query": ME, "operationName": "WhoAmI"},
            headers={"Authorization": f"Bearer {member.access_token}", "X-Request-ID": "req-operate-1"},
        )
        await client.http.post(
            "/graphql",
            json={
                "query": LOG_IN,
                "variables": {"input": {"email": member.email, "password": member.password}},
            },
        )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-operate-1"
    first, second = access_records(caplog)
    line = json.loads(JsonFormatter().format(first))
    assert line["request_id"] == "req-operate-1"
    assert (line["method"], line["path"], line["status"]) == ("POST", "/graphql", 200)
    assert line["operation_name"] == "WhoAmI"
    assert line["operation_type"] == "query"
    assert line["user_id"] is not None
    assert line["duration_ms"] >= 0
    assert len(second.request_id) == 32  # type: ignore[attr-defined]  # generated when not sent
    assert second.operation_name == "LogIn"  # type: ignore[attr-defined]
    logged = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    for secret in (member.access_token, member.refresh_token, member.password, "Bearer", member.email):
        assert secret not in logged


async def test_path_parameters_are_not_logged() -> None:
    from app.ops.observability import loggable_path

    scope = {"path": "/calendar/abc123secret.ics", "path_params": {"token": "abc123secret"}}
    assert loggable_path(scope) == "/calendar/{token}.ics"


async def test_metrics_show_requests_latency_and_errors(client: GraphQLClient) -> None:
    await client.http.post("/graphql", json={"query": "query OperateProbe { me { id } }"})
    await client.http.post("/graphql", json={"query": "query OperateBroken { noSuchField }"})
    response = await client.http.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert (
        'mockinterview_http_requests_total{method="POST",operation_name="OperateProbe",'
        'operation_type="query",route="/graphql",status="200"}'
    ) in text
    assert 'mockinterview_http_request_duration_seconds_count{operation_name="OperateProbe"' in text
    assert 'mockinterview_graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED"' in text
    assert "mockinterview_websocket_connections" in text
    assert 'mockinterview_db_pool_connections{state="size"}' in text


def test_operation_name_labels_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_seen_names", set())
    assert metrics.operation_name_label(None) == "anonymous"
    assert metrics.operation_name_label("") == "anonymous"
    assert metrics.operation_name_label("not a name; drop table") == "other"
    names = [metrics.operation_name_label(f"Op{i}") for i in range(metrics.MAX_OPERATION_NAMES + 5)]
    assert names[0] == "Op0"
    assert names[-1] == "other"
    assert metrics.operation_name_label("Op3") == "Op3"
    assert metrics.operation_type_label("drop") == "none"


def test_event_counters() -> None:
    before = metrics.EVENTS_PUBLISHED.labels("slots")._value.get()
    metrics.record_event_published("slots")
    metrics.record_event_delivered("slots")
    assert metrics.EVENTS_PUBLISHED.labels("slots")._value.get() == before + 1


# --- real server processes ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def mockinterview_command() -> list[str]:
    return [sys.executable, "-m", "app.cli.commands"]


@pytest.fixture
def fresh_database(postgres_server: str) -> Iterator[str]:
    name = infra.fresh_database_name() + "_srv"
    url = asyncio.run(infra.create_database(postgres_server, name))
    upgrade(url)
    yield url
    asyncio.run(infra.drop_database(postgres_server, name))


def start_server(env: dict[str, str], port: int, *extra: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [*mockinterview_command(), "serve", "--port", str(port), *extra],
        env={**os.environ, **env},
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError("server did not become ready")


def base_env(tmp_path: Path) -> dict[str, str]:
    return {
        "APP_ENV": "development",
        "SECRET_KEY": "operate-test-" + secrets.token_urlsafe(32),
        "DATA_DIR": str(tmp_path / "data"),
        "LOG_FORMAT": "json",
        "REDIS_URL": "",
        "PROMETHEUS_MULTIPROC_DIR": "",
    }


@pytest.mark.slow
async def test_sigterm_finishes_inflight_request_and_closes_websockets_with_1001(
    fresh_database: str, tmp_path: Path
) -> None:
    port = free_port()
    # A deliberately expensive argon2 makes signUp naturally slow (~seconds): the in-flight request.
    env = {**base_env(tmp_path), "DATABASE_URL": fresh_database, "ARGON2_TIME_COST": "200"}
    process = await asyncio.to_thread(start_server, env, port)
    try:
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/graphql", subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            subscribe = {"id": "s1", "type": "subscribe", "payload": {"query": OPEN_SLOTS_CHANGED}}
            await ws.send(json.dumps(subscribe))
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
                exposition = (await http.get("/metrics")).text
                assert "mockinterview_websocket_connections 1.0" in exposition
                assert "mockinterview_active_subscriptions 1.0" in exposition
                slow = asyncio.create_task(
                    http.post(
                        "/graphql",
                        json={
                            "query": "mutation SlowSignUp($input: SignUpInput!) { signUp(input: $input) "
                            "{ user { displayName } } }",
                            "variables": {
                                "input": {
                                    "email": "slow@example.com",
                                    "password": "correct horse battery",
                                    "displayName": "Slow",
                                }
                            },
                        },
                    )
                )
                await asyncio.sleep(0.5)  # the request is now hashing the password
                assert not slow.done()
                sent_at = time.monotonic()
                process.send_signal(signal.SIGTERM)
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 10)
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 1001
                response = await slow
        assert response.status_code == 200, response.text
        assert response.json()["data"]["signUp"]["user"]["displayName"] == "Slow"
        assert time.monotonic() - sent_at > 0.2  # it really was in flight when the signal came
        assert await asyncio.to_thread(process.wait, 30) == 0
    finally:
        stop(process)
    output = process.stdout.read().decode() if process.stdout else ""
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(line.get("operation_name") == "SlowSignUp" and line["status"] == 200 for line in lines)
    assert "correct horse battery" not in output


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM first so the embedded PostgreSQL is stopped too; SIGKILL only if that hangs."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_no_postgres(directory: Path, seconds: float = 10) -> list[str]:
    deadline = time.monotonic() + seconds
    while (left := postgres_processes_for(directory)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def postgres_processes_for(directory: Path) -> list[str]:
    result = subprocess.run(["ps", "-eo", "pid,args", "-ww"], capture_output=True, text=True, check=True)
    return [line for line in result.stdout.splitlines() if "postgres" in line and str(directory) in line]


@pytest.mark.slow
async def test_workers_with_embedded_postgres_stop_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {**base_env(tmp_path), "DATABASE_URL": "", "PROMETHEUS_MULTIPROC_DIR": ""}
    env.pop("PROMETHEUS_MULTIPROC_DIR")
    process = await asyncio.to_thread(start_server, env, port, "--workers", "2")
    data_dir = (tmp_path / "data").resolve()
    try:
        assert postgres_processes_for(data_dir)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            for _ in range(6):
                response = await http.post("/graphql", json={"query": "query WorkerProbe { me { id } }"})
                assert response.json() == {"data": {"me": None}}
            # Multiprocess mode: whichever worker answers reports the requests of all workers. A
            # request is counted just after its response is sent, so the last one may lag a little.
            expected = (
                'operation_name="WorkerProbe",operation_type="query",route="/graphql",status="200"} 6.0'
            )
            for _ in range(50):
                text = (await http.get("/metrics")).text
                if expected in text:
                    break
                await asyncio.sleep(0.1)
        assert expected in text, [line for line in text.splitlines() if "WorkerProbe" in line]
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 60) == 0
    finally:
        stop(process)
    assert await asyncio.to_thread(wait_until_no_postgres, data_dir) == []


async def test_events_are_counted_in_metrics(client: GraphQLClient, app_state: Services) -> None:
    from app.ops.instrumented_hub import channel_kind

    assert channel_kind("mi:interview:7:chat", "mi:") == "interview:chat"
    assert channel_kind("mi:slots", "mi:") == "slots"
    channel = f"{app_state.settings.redis_prefix}metrics-probe"
    async with app_state.hub.subscribe(channel) as subscription:
        await app_state.hub.publish(channel, {"kind": "PROBE"})
        assert await anext(subscription) == {"kind": "PROBE"}
    text = (await client.http.get("/metrics")).text
    published = [line for line in text.splitlines() if "events_published" in line and "metrics-probe" in line]
    delivered = [line for line in text.splitlines() if "events_delivered" in line and "metrics-probe" in line]
    assert published, text[:2000]
    assert delivered
