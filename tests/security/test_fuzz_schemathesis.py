"""Schemathesis (hypothesis-graphql) fuzzing of every query and mutation against the ASGI app.

Runs on its own database (the app really commits), as an anonymous caller and as a member.
Passes when no response is a 5xx and every error carries `extensions.code` (none INTERNAL_SERVER_ERROR).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis_graphql import nodes  # noqa: E402

from app.http.factory import create_app  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from tests import infra  # noqa: E402
from tests.conftest import make_settings  # noqa: E402

EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
async def fuzz_database(postgres_server: str) -> AsyncIterator[str]:
    name = infra.fresh_database_name()
    url = await infra.create_database(postgres_server, name)
    await asyncio.to_thread(upgrade, url)
    yield url
    await infra.drop_database(postgres_server, name)


def _problem(status: int, body: Any) -> str | None:
    if status >= 500:
        return f"HTTP {status}"
    if not isinstance(body, dict):
        return "not a JSON object"
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if not code:
            return f"uncoded error {error.get('message')!r}"
        if code == "INTERNAL_SERVER_ERROR":
            return "internal error"
    return None


def test_schemathesis_fuzz(fuzz_database: str, redis_url: str) -> None:
    from schemathesis.graphql import scalar

    scalar("DateTime", st.datetimes(timezones=st.just(UTC)).map(lambda d: nodes.String(d.isoformat())))
    scalar("JSON", st.just(nodes.String("{}")))
    scalar("Upload", st.just(nodes.Null))
    app = create_app(make_settings(fuzz_database, redis_url))
    schema = schemathesis.graphql.from_asgi("/graphql", app)
    token = _member_token(app)
    operations = failures = 0
    found: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            nonlocal operations, failures
            for headers in ({}, {"Authorization": f"Bearer {token}"}):
                operations += 1
                response = case.call(headers=headers)
                try:
                    body = response.json()
                except ValueError:
                    body = None
                problem = _problem(response.status_code, body)
                if problem:
                    failures += 1
                    found.append(f"{case.operation.label}: {problem}: {str(case.body)[:200]}")

        run()
    print(f"schemathesis: {operations} requests, {failures} failures")
    for line in found[:20]:
        print("  ", line)
    assert operations > 500
    assert failures == 0


def _member_token(app: Any) -> str:
    from schemathesis.python import asgi

    with asgi.get_client(app) as client:
        response = client.post(
            "/graphql",
            json={
                "query": 'mutation { signUp(input: {email: "fuzz@example.com", password: "fuzzing password",'
                ' displayName: "Fuzz"}) { accessToken } }'
            },
        )
    token: str = response.json()["data"]["signUp"]["accessToken"]
    return token
