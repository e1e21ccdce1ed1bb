"""A PostgreSQL 15 primary and a streaming standby made with `pg_basebackup -R`, in temp dirs of
their own, stopped when the context exits."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.process import free_port

PG_BIN = Path(os.environ.get("PG15_BIN", "/usr/lib/postgresql/15/bin"))


def _as_owner() -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its programs as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(*command: str) -> None:
    subprocess.run([*_as_owner(), *command], check=True, capture_output=True, timeout=120)


@dataclass
class Node:
    data: Path
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        _run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.data / "log"), "-w", "start")

    def stop(self) -> None:
        _run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@dataclass
class Pair:
    primary: Node
    standby: Node


def _init_primary(data: Path, port: int) -> None:
    _run(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{data}'\n"
            "fsync = off\nfull_page_writes = off\nmax_connections = 60\nwal_level = replica\n"
            "max_wal_senders = 4\nhot_standby_feedback = on\n"
        )
    with (data / "pg_hba.conf").open("a") as hba:
        hba.write("host replication all 127.0.0.1/32 trust\n")


@contextmanager
def primary_and_standby() -> Iterator[Pair]:
    """A running primary and a hot standby that streams from it."""
    if not (PG_BIN / "pg_basebackup").exists():
        pytest.skip(f"PostgreSQL 15 is not installed ({PG_BIN})")
    root = Path(tempfile.mkdtemp(prefix="mi-replica-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    primary = Node(root / "primary", free_port())
    standby = Node(root / "standby", free_port())
    started: list[Node] = []
    try:
        _init_primary(primary.data, primary.port)
        primary.start()
        started.append(primary)
        _run(
            str(PG_BIN / "pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
            *("-D", str(standby.data), "-R", "-X", "stream", "--no-sync"),
        )
        with (standby.data / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {standby.port}\nunix_socket_directories = '{standby.data}'\n")
        standby.start()
        started.append(standby)
        yield Pair(primary, standby)
    finally:
        for node in reversed(started):
            if node.running():
                node.stop()
        shutil.rmtree(root, ignore_errors=True)
