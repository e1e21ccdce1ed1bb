"""The reference topology of deploy/compose.yaml as local processes on loopback, for
tests/scaleout/test_reference_topology.py and bench/topology.py.

The parts are the ones the other scale-out and TLS tests start (a PostgreSQL 15 primary and its
`pg_basebackup -R` standby, a Redis primary, replica and three sentinels, a throwaway CA), set up the
way the compose file sets up its containers: TLS only on both PostgreSQL servers with the deploy's
pg_hba.conf and its primary-init.sh, the standby streaming over TLS as `replicator`, Redis behind a
password. The app's processes (`mockinterview migrate`, `serve`, `worker`) get the environment and the
arguments of their compose service, with each `host:port` of a service and each /run/secrets file
replaced by its local counterpart."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import redis

from app.cli.commands import build_parser
from tests.process import ROOT
from tests.scaleout.compose import (
    SECRETS_DIR,
    AppService,
    app_services,
    load_compose,
    parse_compose,
    placeholders,
)
from tests.scaleout.postgres_pair import Node, Pair, primary_and_standby
from tests.scaleout.redis_servers import SERVICE, SentinelSetup, redis_sentinel
from tests.tls.ca import Issued, TestCA
from tests.tls.servers import serving_tls

DEPLOY = ROOT / "deploy"
# Local administration (this module's own psql and asyncpg connections) as the superuser over TLS:
# in the containers the superuser has only the local socket, which peer authentication keeps from us.
ADMIN_HBA = "hostssl all postgres 127.0.0.1/32 trust\nhostssl replication postgres 127.0.0.1/32 trust\n"


def _wait(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


def _give_to_postgres(*paths: Path) -> None:
    """PostgreSQL runs as `postgres` when we are root (postgres_pair.py): its files must be its own."""
    if os.geteuid() != 0:
        return
    owner = pwd.getpwnam("postgres")
    for path in paths:
        os.chown(path, owner.pw_uid, owner.pw_gid)


@dataclass
class Topology:
    root: Path
    ca: TestCA
    pair: Pair
    redis_setup: SentinelSetup
    variables: dict[str, str]  # the values of the compose file's required variables
    compose: dict[str, Any] = field(init=False)
    services: dict[str, AppService] = field(init=False)
    api: Issued = field(init=False)  # the API services' certificate, for 127.0.0.1
    data_dir: Path = field(init=False)  # the image's DATA_DIR, shared like its uploads volume

    def __post_init__(self) -> None:
        self.compose = load_compose(self.variables)
        self.services = app_services(self.compose)
        self.api = self.ca.issue("api")
        self.data_dir = self.root / "data"
        self.data_dir.mkdir(exist_ok=True)

    @property
    def redis_password(self) -> str:
        return self.variables["REDIS_PASSWORD"]

    def addresses(self) -> dict[str, str]:
        """Each compose `service:port` the app connects to, and where that part listens here."""
        local = {
            "db-primary:5432": f"127.0.0.1:{self.pair.primary.port}",
            "db-replica:5432": f"127.0.0.1:{self.pair.standby.port}",
        }
        for index, sentinel in enumerate(self.redis_setup.sentinels, start=1):
            local[f"sentinel-{index}:26379"] = f"127.0.0.1:{sentinel.port}"
        return local

    def secret_files(self) -> dict[str, Path]:
        return {"ca": self.ca.cert_path, "api_cert": self.api.certfile, "api_key": self.api.keyfile}

    def _localized(self, text: str) -> str:
        for address, local in self.addresses().items():
            text = text.replace(address, local)
        for name, path in self.secret_files().items():
            text = text.replace(SECRETS_DIR + name, str(path))
        for service in self.compose["services"]:
            if f"{service}:" in text or f"@{service}" in text:
                raise ValueError(f"no local counterpart of compose service {service} in {text!r}")
        return text

    def environment(self, service: str, **overrides: str) -> dict[str, str]:
        """The service's compose environment with local addresses and files, plus `overrides`."""
        env = {key: self._localized(value) for key, value in self.services[service].environment.items()}
        return {**env, "DATA_DIR": str(self.data_dir), **overrides}

    def arguments(self, service: str) -> list[str]:
        """The service's `mockinterview` arguments with local files."""
        return [self._localized(part) for part in self.services[service].command]

    def admin_url(self, node: Node, database: str = "mi") -> str:
        return (
            f"postgresql://postgres@127.0.0.1:{node.port}/{database}"
            f"?sslmode=verify-full&sslrootcert={self.ca.cert_path}"
        )

    def redis_primary(self) -> redis.Redis:
        return redis.Redis(
            port=self.redis_setup.primary_port(), password=self.redis_password, socket_timeout=2
        )

    def run(self, service: str, **overrides: str) -> subprocess.CompletedProcess[str]:
        """A one-shot service (`migrate`) to completion."""
        return subprocess.run(
            [sys.executable, "-m", "app.cli.commands", *self.arguments(service)],
            cwd=ROOT,
            env={**os.environ, **self.environment(service, **overrides)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    @contextmanager
    def serving(self, service: str, **overrides: str) -> Iterator[str]:
        """An API service's `serve` on a free loopback port (its host and port are the container's);
        yields its https:// base URL once /readyz answers."""
        args = build_parser().parse_args(self.arguments(service))
        assert args.command == "serve", args
        extra = ["--graceful-timeout", str(args.graceful_timeout), "--log-level", "warning"]
        extra += ["--ssl-certfile", args.ssl_certfile, "--ssl-keyfile", args.ssl_keyfile]
        env = self.environment(service, **overrides)
        with serving_tls(env, self.ca.cert_path, extra_args=tuple(extra)) as base:
            yield base

    @contextmanager
    def working(self, service: str = "worker", **overrides: str) -> Iterator[subprocess.Popen[bytes]]:
        """The worker service until the context exits; yields once it has started taking jobs."""
        log = self.root / f"{service}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "app.cli.commands", *self.arguments(service)],
                cwd=ROOT,
                env={**os.environ, **self.environment(service, **overrides)},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait(lambda: b"job worker started" in log.read_bytes() or process.poll() is not None, "worker")
            if process.poll() is not None:
                raise RuntimeError(f"worker exited:\n{log.read_text(errors='replace')[-3000:]}")
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _psql(url: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-Atq", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def _serve_tls(node: Node, db: Issued, ca: Path) -> None:
    """The containers' TLS settings (deploy/postgres/entrypoint.sh and the compose command) and the
    deploy's pg_hba.conf, applied by a reload."""
    files = {"server.crt": db.certfile, "server.key": db.keyfile, "ca.pem": ca}
    for name, source in files.items():
        shutil.copy(source, node.data / name)
        (node.data / name).chmod(0o600 if name.endswith(".key") else 0o644)
        _give_to_postgres(node.data / name)
    with (node.data / "postgresql.conf").open("a") as conf:
        conf.write(
            "ssl = on\nssl_min_protocol_version = 'TLSv1.2'\nssl_cert_file = 'server.crt'\n"
            "ssl_key_file = 'server.key'\npassword_encryption = 'scram-sha-256'\n"
        )
    (node.data / "pg_hba.conf").write_text(ADMIN_HBA + (DEPLOY / "postgres" / "pg_hba.conf").read_text())
    plain = f"postgresql://postgres@127.0.0.1:{node.port}/postgres"
    _psql(plain, "-c", "SELECT pg_reload_conf()")


def _tls_ready(url: str) -> bool:
    try:
        return _psql(url, "-c", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == "t"
    except subprocess.CalledProcessError:
        return False


def _stream_as_replicator(topology: Topology, password: str) -> None:
    """What entrypoint.sh's `pg_basebackup -R` writes on the replica: stream from the primary as
    `replicator`, over TLS checked with verify-full."""
    standby, primary = topology.pair.standby, topology.pair.primary
    conninfo = (
        f"host=127.0.0.1 port={primary.port} user=replicator password={password} sslmode=verify-full "
        f"sslrootcert={standby.data / 'ca.pem'} application_name=db-replica"
    )
    with (standby.data / "postgresql.auto.conf").open("a") as conf:
        conf.write(f"primary_conninfo = '{conninfo}'\n")
    _psql(topology.admin_url(standby, "postgres"), "-c", "SELECT pg_reload_conf()")
    streaming = (
        "SELECT count(*) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) "
        "WHERE r.usename = 'replicator' AND r.state = 'streaming' AND s.ssl"
    )
    _wait(lambda: _psql(topology.admin_url(primary, "postgres"), "-c", streaming) == "1", "TLS replication")


def _secure_postgres(topology: Topology) -> None:
    db = topology.ca.issue("db")
    for node in (topology.pair.primary, topology.pair.standby):
        _serve_tls(node, db, topology.ca.cert_path)
        _wait(partial(_tls_ready, topology.admin_url(node, "postgres")), "PostgreSQL over TLS")
    primary_env = topology.compose["services"]["db-primary"]["environment"]
    primary = topology.pair.primary
    subprocess.run(
        ["sh", str(DEPLOY / "postgres" / "primary-init.sh")],
        env={
            **os.environ,
            "PGHOST": "127.0.0.1",
            "PGPORT": str(primary.port),
            "PGSSLMODE": "verify-full",
            "PGSSLROOTCERT": str(topology.ca.cert_path),
            "APP_DB_PASSWORD": primary_env["APP_DB_PASSWORD"],
            "REPLICATION_PASSWORD": primary_env["REPLICATION_PASSWORD"],
        },
        check=True,
        capture_output=True,
        timeout=60,
    )
    _stream_as_replicator(topology, primary_env["REPLICATION_PASSWORD"])


def _protect_redis(setup: SentinelSetup, password: str) -> None:
    """deploy/redis/server.sh's requirepass and masterauth, and sentinel.sh's auth-pass."""
    for sentinel in setup.sentinels:
        sentinel.client().execute_command("SENTINEL", "SET", SERVICE, "auth-pass", password)  # type: ignore[no-untyped-call]
    for server in (setup.replica, setup.primary):
        client = server.client()
        client.config_set("masterauth", password)
        client.config_set("requirepass", password)
    replica = redis.Redis(port=setup.replica.port, password=password, socket_timeout=2)
    _wait(lambda: replica.info("replication")["master_link_status"] == "up", "Redis replica with a password")


@contextmanager
def local_topology(root: Path | None = None) -> Iterator[Topology]:
    """The data tier of the compose file running here, secured as there; the app's processes are
    started from the returned `Topology`."""
    work = root or Path(tempfile.mkdtemp(prefix="mi-topology-"))
    variables = placeholders(parse_compose())
    try:
        with primary_and_standby() as pair, redis_sentinel() as sentinels:
            topology = Topology(work, TestCA(work / "ca"), pair, sentinels, variables)
            _secure_postgres(topology)
            _protect_redis(sentinels, topology.redis_password)
            yield topology
    finally:
        if root is None:
            shutil.rmtree(work, ignore_errors=True)
