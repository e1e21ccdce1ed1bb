"""Real redis-server processes for the high-availability tests: a 3-primary Redis Cluster, and a
primary + replica watched by three sentinels. Each runs in a temp dir and is stopped on exit."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest
import redis

from tests.process import free_port

SERVICE = "mymaster"


def _wait(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


@contextmanager
def _server(directory: Path, *options: str, config: Path | None = None) -> Iterator[Server]:
    """One redis-server (or sentinel, with its `config`) on a free loopback port, killed on exit."""
    port = free_port()
    log = directory / f"{port}.log"
    command = ["redis-server", *([str(config)] if config else []), "--port", str(port), "--bind", "127.0.0.1"]
    command += ["--save", "", "--appendonly", "no", "--dir", str(directory), "--logfile", str(log), *options]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    server = Server(port, process)
    try:
        _wait(lambda: bool(server.client().ping()), f"redis on {port}:\n{_tail(log)}")
        yield server
    finally:
        server.kill()


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else ""


@contextmanager
def _workdir(prefix: str) -> Iterator[Path]:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server and redis-cli are needed")
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def redis_cluster() -> Iterator[list[Server]]:
    """Three primaries (no replicas) forming a cluster that covers all 16384 slots."""
    with _workdir("mi-redis-cluster-") as root, ExitStack() as stack:
        servers = []
        for index in range(3):
            directory = root / str(index)
            directory.mkdir()
            options = ["--cluster-enabled", "yes", "--cluster-config-file", str(directory / "nodes.conf")]
            options += ["--cluster-port", str(free_port()), "--cluster-node-timeout", "2000"]
            servers.append(stack.enter_context(_server(directory, *options)))
        addresses = [f"127.0.0.1:{server.port}" for server in servers]
        subprocess.run(
            ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        for server in servers:
            _wait(partial(_cluster_ok, server), "cluster")
        yield servers


@dataclass
class SentinelSetup:
    primary: Server
    replica: Server
    sentinels: list[Server] = field(default_factory=list)

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def primary_port(self) -> int:
        client = self.sentinels[0].client()
        address = client.execute_command("SENTINEL", "get-master-addr-by-name", SERVICE)  # type: ignore[no-untyped-call]
        return int(address[1])


def _cluster_ok(server: Server) -> bool:
    return bool(server.client().cluster("INFO")["cluster_state"] == "ok")


def _sentinel_sees(sentinel: Server, what: str, count: int) -> bool:
    known = sentinel.client().execute_command("SENTINEL", what, SERVICE)  # type: ignore[no-untyped-call]
    return len(known) == count


def _sentinel_conf(directory: Path, primary: int) -> Path:
    conf = directory / "sentinel.conf"
    conf.write_text(
        f"sentinel monitor {SERVICE} 127.0.0.1 {primary} 2\n"
        f"sentinel down-after-milliseconds {SERVICE} 1000\n"
        f"sentinel failover-timeout {SERVICE} 5000\n"
        f"sentinel parallel-syncs {SERVICE} 1\n"
    )
    return conf


@contextmanager
def redis_sentinel() -> Iterator[SentinelSetup]:
    """A primary, its replica, and three sentinels that agree on both and on each other."""
    with _workdir("mi-redis-sentinel-") as root, ExitStack() as stack:
        primary = stack.enter_context(_server(root))
        replica = stack.enter_context(_server(root, "--replicaof", "127.0.0.1", str(primary.port)))
        _wait(lambda: replica.client().info("replication")["master_link_status"] == "up", "sync")
        setup = SentinelSetup(primary, replica)
        for index in range(3):
            directory = root / f"sentinel{index}"
            directory.mkdir()
            conf = _sentinel_conf(directory, primary.port)
            setup.sentinels.append(stack.enter_context(_server(directory, "--sentinel", config=conf)))
        for sentinel in setup.sentinels:
            _wait(partial(_sentinel_sees, sentinel, "replicas", 1), "replica seen")
            _wait(partial(_sentinel_sees, sentinel, "sentinels", 2), "peers seen")
        yield setup
