"""The reference topology (deploy/compose.yaml, docs/deployment.md "Reference topology") without
Docker: the file's app services ask only for real settings and commands that production accepts, and
its parts run here as local processes (tests/scaleout/topology.py) with the file's own settings: a
member signs up through one HTTPS instance, reads through the other, and a write on the first reaches
a subscriber of the second over WSS."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import orjson
import pytest
import websockets

from app.cli.commands import build_parser
from app.core.redis_client import parse_ha_url
from app.core.settings import Settings
from tests.helpers import GraphQLClient, Member, db_id
from tests.live.support import BOARD, TRANSPORT_WS, WsClient
from tests.scaleout.compose import (
    AppService,
    app_services,
    load_compose,
    parse_compose,
    placeholders,
    references,
)
from tests.scaleout.redis_servers import SERVICE
from tests.scaleout.topology import DEPLOY, Topology, local_topology
from tests.tls.servers import client_context

pytestmark = pytest.mark.slow

API_SERVICES = ("api-1", "api-2")
# Read by uvicorn or libraries rather than by app/core/settings.py; none is set by the file today.
NOT_SETTINGS: frozenset[str] = frozenset({"FORWARDED_ALLOW_IPS", "AWS_CA_BUNDLE", "PROMETHEUS_MULTIPROC_DIR"})
CREATE_SPECIALIZATION = "mutation($n: String!) { createSpecialization(name: $n) { id } }"
CREATE_SLOT = "mutation($input: CreateSlotInput!) { createSlot(input: $input) { id } }"


@pytest.fixture(scope="module")
def services() -> dict[str, AppService]:
    return app_services(load_compose(placeholders(parse_compose())))


def test_every_variable_must_be_set_and_has_no_default() -> None:
    used = references(parse_compose())
    assert used
    assert {operator for _, operator in used} == {":?"}, used


def test_app_services_set_only_settings_and_run_real_commands(services: dict[str, AppService]) -> None:
    assert set(services) == {"migrate", *API_SERVICES, "worker"}
    settings = {name.upper() for name in Settings.model_fields}
    compose = load_compose(placeholders(parse_compose()))
    for service in services.values():
        assert set(service.environment) - settings - NOT_SETTINGS == set(), service.name
        args = build_parser().parse_args(service.command)  # exits on an unknown command or option
        assert args.command == {"migrate": "migrate", "worker": "worker"}.get(service.name, "serve")
        assert set(service.secret_files()) <= set(service.secrets) <= set(compose["secrets"]), service.name
        if service.name != "migrate":
            depends_on = compose["services"][service.name]["depends_on"]
            assert depends_on["migrate"] == {"condition": "service_completed_successfully"}


def test_production_accepts_the_app_environment(
    services: dict[str, AppService], monkeypatch: pytest.MonkeyPatch
) -> None:
    for service in services.values():
        for name in Settings.model_fields:
            monkeypatch.delenv(name.upper(), raising=False)
        for name, value in service.environment.items():
            monkeypatch.setenv(name, value)
        settings = Settings()
        assert settings.is_production, service.name
        settings.resolved_secret_key()
        settings.resolved_files_key()  # production refuses to start without FILES_ENCRYPTION_KEY
        assert not settings.jobs_in_process  # the worker service runs the job queue
        assert len(settings.database_replica_urls) == 1


def test_every_link_is_tls_where_the_settings_support_it(services: dict[str, AppService]) -> None:
    for service in services.values():
        env = service.environment
        for url in [env["DATABASE_URL"], *orjson.loads(env["DATABASE_REPLICA_URLS"])]:
            query = parse_qs(urlsplit(url).query)
            assert query["sslmode"] == ["verify-full"], url
            assert query["sslrootcert"] == ["/run/secrets/ca"], url
        # Sentinel URLs do not speak TLS yet (docs/deployment.md): the one plain link, with a password.
        redis_url = parse_ha_url(env["REDIS_URL"])
        assert redis_url is not None
        assert (redis_url.kind, redis_url.service) == ("sentinel", SERVICE)
        assert redis_url.password
        assert [host for host, _ in redis_url.nodes] == ["sentinel-1", "sentinel-2", "sentinel-3"]
    for name in API_SERVICES:
        args = build_parser().parse_args(services[name].command)
        assert (args.ssl_certfile, args.ssl_keyfile) == ("/run/secrets/api_cert", "/run/secrets/api_key")
    sentinel_conf = (DEPLOY / "redis" / "sentinel.sh").read_text()
    assert re.search(rf"sentinel monitor {SERVICE} redis-primary 6379 2\n", sentinel_conf)


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    with local_topology(tmp_path_factory.mktemp("topology")) as started:
        yield started


@dataclass
class Running:
    topology: Topology
    one: str  # api-1's https:// base URL
    two: str  # api-2's


@pytest.fixture(scope="module")
def running(topology: Topology) -> Iterator[Running]:
    migrated = topology.run("migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "database migrated to head" in migrated.stdout
    with (
        topology.working("worker"),
        topology.serving("api-1") as one,
        topology.serving("api-2") as two,
    ):
        yield Running(topology, one, two)


@pytest.fixture
async def clients(running: Running) -> AsyncIterator[tuple[GraphQLClient, GraphQLClient]]:
    verify = client_context(running.topology.ca.cert_path)
    async with (
        httpx.AsyncClient(base_url=running.one, verify=verify, timeout=30) as one,
        httpx.AsyncClient(base_url=running.two, verify=verify, timeout=30) as two,
    ):
        yield GraphQLClient(one), GraphQLClient(two)


async def _fetchval(url: str, sql: str, *args: object) -> object:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(sql, *args)
    finally:
        await connection.close()


async def _wss(base: str, running: Running, member: Member) -> WsClient:
    socket = await websockets.connect(
        base.replace("https://", "wss://", 1) + "/graphql",
        ssl=client_context(running.topology.ca.cert_path),
        subprotocols=[TRANSPORT_WS],  # type: ignore[list-item]
        origin=running.topology.variables["APP_ORIGIN"],  # type: ignore[arg-type]
    )
    client = WsClient(socket, TRANSPORT_WS)
    await client.send(
        {"type": "connection_init", "payload": {"Authorization": f"Bearer {member.access_token}"}}
    )
    await client.acknowledged()
    return client


async def test_sign_up_on_one_instance_read_and_follow_on_the_other(
    running: Running, clients: tuple[GraphQLClient, GraphQLClient]
) -> None:
    one, two = clients
    topology = running.topology
    host = await one.sign_up("topology-host")
    me = await two.data("{ me { id email } }", token=host.access_token)
    assert me["me"] == {"id": host.id, "email": host.email}  # read-your-writes, across instances
    await two.data("{ openSlots(first: 5) { edges { node { id } } } }")  # anonymous: from the replica
    on_replica = "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' AND datname = 'mi'"
    assert await _fetchval(topology.admin_url(topology.pair.standby), on_replica)

    await _fetchval(
        topology.admin_url(topology.pair.primary),
        "UPDATE users SET role = 'ADMIN' WHERE id = $1",
        db_id(host.id),
    )
    topic = await one.data(
        CREATE_SPECIALIZATION, {"n": f"Topology {secrets.token_hex(3)}"}, token=host.access_token
    )
    watcher = await one.sign_up("topology-watcher")
    ws = await _wss(running.two, running, watcher)
    try:
        await ws.subscribe(BOARD)
        await asyncio.sleep(0.5)  # the subscription reaches Redis before the slot is published
        starts = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()
        slot = {
            "specializationId": topic["createSpecialization"]["id"],
            "startsAt": starts,
            "durationMinutes": 60,
            "videoLink": "https://meet.example.com/topology",
        }
        created = await one.data(CREATE_SLOT, {"input": slot}, token=host.access_token)
        event = await ws.next_data(wait=10)
    finally:
        await ws.close()
    assert event["openSlotsChanged"]["kind"] == "PUBLISHED"
    assert event["openSlotsChanged"]["slot"]["id"] == created["createSlot"]["id"]


async def test_every_database_link_is_tls_redis_is_shared_and_the_worker_runs(
    running: Running, clients: tuple[GraphQLClient, GraphQLClient]
) -> None:
    topology = running.topology
    await clients[0].sign_up("topology-counted")  # a rate-limit hit in Redis, through the sentinels
    over_tls = (
        "SELECT count(*) FILTER (WHERE s.ssl), count(*) "
        "FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.usename = $1"
    )
    for node in (topology.pair.primary, topology.pair.standby):
        connection = await asyncpg.connect(topology.admin_url(node))
        try:
            encrypted, total = await connection.fetchrow(over_tls, "app")
        finally:
            await connection.close()
        assert total > 0
        assert encrypted == total, node
    replication = (
        "SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) "
        "WHERE r.usename = 'replicator'"
    )
    streaming = await _fetchval(topology.admin_url(topology.pair.primary, "postgres"), replication)
    assert streaming is True
    schedules = await _fetchval(
        topology.admin_url(topology.pair.primary),
        "SELECT array_agg(entrypoint::text) FROM pgqueuer_schedules",
    )
    assert isinstance(schedules, list)
    assert "reminders" in schedules  # registered by the worker: the instances run no job queue
    primary = topology.redis_primary()
    assert primary.keys("mi:ratelimit:*")
