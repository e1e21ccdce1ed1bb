"""PostgreSQL with `sslmode=verify-full&sslrootcert=<ca>` in DATABASE_URL: alembic migrates and the app's
engine and the job queue's asyncpg pool answer through a cluster that takes TLS only; a server
certificate of another CA, or one that does not name the host, is refused."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text

from db.migrate import database_migration_status, upgrade
from db.session import create_engine
from tests.tls.ca import TestCA
from tests.tls.conftest import verify_full_url

CERTIFICATE_REFUSED = r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"


@pytest.fixture(scope="module")
async def tls_database(postgres_tls_port: int, ca: TestCA) -> str:
    """A database of its own on the TLS cluster, migrated through a verify-full URL."""
    admin = await asyncpg.connect(verify_full_url(postgres_tls_port, ca.cert_path))
    try:
        await admin.execute("CREATE DATABASE app")
    finally:
        await admin.close()
    url = verify_full_url(postgres_tls_port, ca.cert_path, "app")
    await asyncio.to_thread(upgrade, url)
    return url  # the cluster goes with its fixture


async def test_alembic_migrates_and_the_engine_answers_over_verified_tls(tls_database: str) -> None:
    assert not (await database_migration_status(tls_database)).pending
    engine = create_engine(tls_database, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    text("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                )
            ).one()
            assert row.ssl is True
            assert row.version in ("TLSv1.2", "TLSv1.3")
            assert await connection.scalar(text("SELECT count(*) FROM users")) == 0
    finally:
        await engine.dispose()


async def test_the_job_queues_pool_reads_the_same_url(tls_database: str) -> None:
    """app/jobs hands DATABASE_URL to asyncpg as it is; asyncpg reads sslmode/sslrootcert like libpq."""
    pool = await asyncpg.create_pool(tls_database, min_size=1, max_size=1)
    try:
        assert await pool.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is True
    finally:
        await pool.close()


async def test_a_server_certificate_of_another_ca_is_refused(
    postgres_tls_port: int, wrong_ca: TestCA
) -> None:
    url = verify_full_url(postgres_tls_port, wrong_ca.cert_path)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        with pytest.raises(Exception, match=CERTIFICATE_REFUSED):
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
    with pytest.raises(Exception, match=CERTIFICATE_REFUSED):
        await asyncio.to_thread(upgrade, url)  # alembic's engine too


async def test_verify_full_checks_the_host_name(postgres_tls_port: int, ca: TestCA) -> None:
    """127.0.0.2 reaches the same server, but its certificate names only localhost and 127.0.0.1."""
    unnamed = verify_full_url(postgres_tls_port, ca.cert_path, host="127.0.0.2")
    engine = create_engine(unnamed, pool_size=1, max_overflow=0)
    try:
        with pytest.raises(Exception, match=r"IP address mismatch|not valid for"):
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
    # verify-ca checks the chain only: the same address is accepted.
    chain_only = unnamed.replace("sslmode=verify-full", "sslmode=verify-ca")
    engine = create_engine(chain_only, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()


async def test_the_cluster_refuses_connections_without_tls(postgres_tls_port: int) -> None:
    """So the tests above could only have passed over TLS."""
    plain = f"postgresql://postgres@127.0.0.1:{postgres_tls_port}/postgres?sslmode=disable"
    engine = create_engine(plain, pool_size=1, max_overflow=0)
    try:
        with pytest.raises(Exception, match=r"no encryption|rejects connection"):
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
