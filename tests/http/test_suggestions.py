"""No "Did you mean ...?" in production, for every kind of name a guess could be close to
(schema/extensions/suggestions.py); development keeps the suggestions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import graphql
import httpx
import pytest
import strawberry.schema.schema as strawberry_schema
from graphql import parse
from starlette.applications import Starlette
from strawberry.types import ExecutionResult

from app.core.settings import Settings
from app.http.factory import create_app
from schema.build import build_schema
from schema.core_schema import graphql_core_schema
from schema.extensions.suggestions import STRAWBERRY_RULES, QuietExecutionContext
from tests.conftest import TEST_SECRET, make_settings
from tests.helpers import GraphQLClient

USERS = "{ edges { node { id } } }"
SIGN_UP_FIELDS = 'password: "correct horse battery", displayName: "Guess"'
# kind -> (document, variables, the suggestion development gives)
CASES: dict[str, tuple[str, dict[str, Any] | None, str]] = {
    "field": ("query { mee { id } }", None, "Did you mean 'me'?"),
    "argument": ("query { openSlots(firts: 2) { edges { node { id } } } }", None, "Did you mean 'first'?"),
    "enum value": (f"query {{ users(role: ADMN) {USERS} }}", None, "Did you mean the enum value 'ADMIN'?"),
    "type": (
        "query($n: Intt) { openSlots(first: $n) { edges { node { id } } } }",
        None,
        "Did you mean 'Int'",
    ),
    "fragment type": ("query { ...F } fragment F on Qurey { me { id } }", None, "Did you mean 'Query'"),
    "input field": (
        f'mutation {{ signUp(input: {{emial: "a@example.com", {SIGN_UP_FIELDS}}}) {{ accessToken }} }}',
        None,
        "Did you mean 'email'?",
    ),
    "enum value in a variable": (
        f"query($r: Role) {{ users(role: $r) {USERS} }}",
        {"r": "ADMN"},
        "Did you mean the enum value 'ADMIN'?",
    ),
    "input field in a variable": (
        "mutation($i: SignUpInput!) { signUp(input: $i) { accessToken } }",
        {"i": {"emial": "a@example.com", "password": "correct horse battery", "displayName": "Guess"}},
        "Did you mean 'email'?",
    ),
}


@pytest.fixture(scope="module")
async def production_app(database_url: str, redis_url: str) -> AsyncIterator[Starlette]:
    application = create_app(make_settings(database_url, redis_url, app_env="production"))
    async with application.router.lifespan_context(application):
        yield application


async def _messages(app: Starlette, query: str, variables: dict[str, Any] | None) -> list[str]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        result = await GraphQLClient(http).execute(query, variables)
    errors = result.get("errors") or []
    assert errors, result
    assert all((e.get("extensions") or {}).get("code") for e in errors), errors
    return [e["message"] for e in errors]


@pytest.mark.parametrize("kind", list(CASES))
async def test_production_errors_carry_no_suggestions(production_app: Starlette, kind: str) -> None:
    query, variables, _ = CASES[kind]
    messages = await _messages(production_app, query, variables)
    assert not [m for m in messages if "did you mean" in m.lower()], messages


@pytest.mark.parametrize("kind", list(CASES))
async def test_development_errors_keep_suggestions(app: Starlette, kind: str) -> None:
    """The control: each case above does draw a suggestion where they are allowed."""
    query, variables, suggestion = CASES[kind]
    messages = await _messages(app, query, variables)
    assert any(suggestion in m for m in messages), messages


async def test_production_subscriptions_carry_no_suggestions() -> None:
    document = "subscription($s: IDD) { openSlotsChangd(specializationId: $s) { kind } }"
    for env, expected in (("production", 0), ("development", 2)):
        schema = build_schema(Settings(app_env=env, secret_key=TEST_SECRET))
        stream = await schema.subscribe(document)
        assert not isinstance(stream, ExecutionResult)
        first = await anext(stream)
        messages = [e.message for e in first.errors or []]
        assert len(messages) == 2, messages
        assert sum("Did you mean" in m for m in messages) == expected, (env, messages)


def test_the_mechanism_still_matches_the_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails on an upgrade that changes what suggestions.py relies on: graphql-core's public
    `hide_suggestions` (3.3.2+) and the rules strawberry adds to every validation."""
    assert tuple(int(part) for part in graphql.version_info[:3]) >= (3, 3, 2)
    assert graphql.version_info[:2] == (3, 3)  # pyproject.toml pins <3.4: re-check on a new minor
    captured: list[tuple[Any, ...]] = []

    def spy(schema: Any, document: Any, rules: Any, *args: Any, **kwargs: Any) -> list[Any]:
        captured.append(tuple(rules))
        return []

    monkeypatch.setattr(strawberry_schema, "validate", spy)
    schema = build_schema(Settings(secret_key=TEST_SECRET))
    strawberry_schema.validate_document(graphql_core_schema(schema), parse("{ __typename }"), ())
    assert captured == [STRAWBERRY_RULES]
    assert schema.execution_context_class is not QuietExecutionContext  # development keeps them
    production = build_schema(Settings(app_env="production", secret_key=TEST_SECRET))
    assert production.execution_context_class is QuietExecutionContext
