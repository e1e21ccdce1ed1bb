"""Real servers speaking TLS for the tests: redis-server with --tls-port, a PostgreSQL 15 cluster with
ssl=on, and `mockinterview serve --ssl-certfile/--ssl-keyfile`. Each runs in a temp dir of its own
and is stopped when its context exits."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.process import ROOT, free_port
from tests.tls.ca import Issued

PG_BIN = Path(os.environ.get("PG15_BIN", "/usr/lib/postgresql/15/bin"))


def _wait(
    ready: Callable[[], bool], what: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited early:\n{log.read_text(errors='replace')[-4000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not become ready:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def redis_supports_tls() -> str | None:
    """Why this machine's redis-server cannot serve TLS, or None when it can."""
    if shutil.which("redis-server") is None:
        return "no redis-server on PATH"
    probe = subprocess.run(
        ["redis-server", "--port", "0", "--tls-port", "0", "--save", ""],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    if "Bad directive" in probe.stdout + probe.stderr:
        return "redis-server was built without TLS"
    return None


@contextmanager
def tls_redis(server: Issued, ca: Path) -> Iterator[int]:
    """redis-server on a loopback TLS port only (no plain port); yields the port."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="mi-tls-redis-") as directory:
        log = Path(directory) / "redis.log"
        command = ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1"]
        command += ["--tls-cert-file", str(server.certfile), "--tls-key-file", str(server.keyfile)]
        command += ["--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no"]
        command += ["--save", "", "--appendonly", "no", "--dir", directory, "--logfile", str(log)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            _wait(
                lambda: log.exists() and "Ready to accept connections" in log.read_text(),
                "redis",
                process,
                log,
            )
            yield port
        finally:
            _stop(process)


def _cluster_owner() -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its programs as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _give_to_cluster_owner(*paths: Path) -> None:
    if os.geteuid() != 0:
        return
    owner = pwd.getpwnam("postgres")
    for path in paths:
        os.chown(path, owner.pw_uid, owner.pw_gid)


def _configure_tls_cluster(data: Path, server: Issued, port: int) -> None:
    shutil.copy(server.certfile, data / "server.crt")
    shutil.copy(server.keyfile, data / "server.key")
    (data / "server.key").chmod(0o600)
    _give_to_cluster_owner(data / "server.crt", data / "server.key")
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"listen_addresses = '127.0.0.1,127.0.0.2'\nport = {port}\nunix_socket_directories = '{data}'\n"
            "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 40\n"
        )
    # TCP only over TLS: a client that does not ask for it is refused. 127.0.0.2 is an address the
    # certificate does not name.
    (data / "pg_hba.conf").write_text(
        "local all all trust\nhostssl all all 127.0.0.0/8 trust\nhostnossl all all 127.0.0.0/8 reject\n"
    )


@contextmanager
def tls_postgres(server: Issued) -> Iterator[int]:
    """A PostgreSQL 15 cluster with ssl=on that takes TCP connections over TLS only; yields its port."""
    initdb = PG_BIN / "initdb"
    if not initdb.exists():
        pytest.skip(f"PostgreSQL 15 is not installed ({initdb})")
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="mi-tls-pg-"))
    data, log = root / "data", root / "postgres.log"
    _give_to_cluster_owner(root)
    try:
        subprocess.run(
            [
                *_cluster_owner(),
                str(initdb),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            check=True,
            capture_output=True,
        )
        _configure_tls_cluster(data, server, port)
        pg_ctl = [*_cluster_owner(), str(PG_BIN / "pg_ctl"), "-D", str(data)]
        subprocess.run([*pg_ctl, "-l", str(log), "-w", "-t", "60", "start"], check=True, capture_output=True)
        try:
            yield port
        finally:
            subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], check=False, capture_output=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def client_context(ca: Path) -> ssl.SSLContext:
    """A client context that trusts only `ca` and checks host names."""
    return ssl.create_default_context(cafile=str(ca))


@contextmanager
def serving_tls(env: dict[str, str], ca: Path, *, extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """`mockinterview serve` with `env` over HTTPS; yields `https://127.0.0.1:<port>` once /readyz answers."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="mi-tls-serve-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli.commands", "serve", "--port", str(port), *extra_args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"https://127.0.0.1:{port}"
    context = client_context(ca)

    def ready() -> bool:
        try:
            return httpx.get(f"{base}/readyz", verify=context, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait(ready, "serve", process, log, timeout=90)
        yield base
    finally:
        _stop(process)
        log.unlink(missing_ok=True)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
