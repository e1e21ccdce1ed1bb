"""Fixtures of the TLS tests: a throwaway CA (and a second one nobody trusts), and TLS servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tls.ca import TestCA
from tests.tls.servers import redis_supports_tls, tls_postgres, tls_redis


@pytest.fixture(scope="package")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="package")
def wrong_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    """A CA that signed nothing the servers use."""
    return TestCA(tmp_path_factory.mktemp("wrong-ca"), name="Somebody else's CA")


@pytest.fixture(scope="package")
def redis_tls_port(ca: TestCA) -> Iterator[int]:
    reason = redis_supports_tls()
    if reason is not None:
        pytest.skip(reason)
    with tls_redis(ca.issue("redis"), ca.cert_path) as port:
        yield port


@pytest.fixture(scope="package")
def postgres_tls_port(ca: TestCA) -> Iterator[int]:
    with tls_postgres(ca.issue("postgres")) as port:
        yield port


def rediss_url(port: int, ca: Path, host: str = "127.0.0.1") -> str:
    return f"rediss://{host}:{port}/0?ssl_ca_certs={ca}"


def verify_full_url(port: int, ca: Path, database: str = "postgres", host: str = "127.0.0.1") -> str:
    return f"postgresql://postgres@{host}:{port}/{database}?sslmode=verify-full&sslrootcert={ca}"
