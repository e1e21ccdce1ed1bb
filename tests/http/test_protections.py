"""API protections: limits, coded errors for bad input, body size, rate limits, production mode."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.core.settings import Settings, SettingsError
from app.http.factory import create_app
from tests.conftest import make_settings
from tests.helpers import GraphQLClient


async def test_deep_query_is_refused(client: GraphQLClient) -> None:
    inner = "id"
    for _ in range(15):
        inner = f'node(id: "x") {{ ... on User {{ {inner} }} }}'
    # Depth is counted through fragments on nested fields.
    deep = (
        "query { me { specializations { id "
        + "".join("... on Specialization { id }" for _ in range(2))
        + " } } }"
    )
    result = await client.execute(deep)
    assert "errors" not in result or result["errors"][0]["extensions"]["code"]
    nested = "query {" + "me { " * 1 + "specializations { " * 14 + "id" + " }" * 15 + " }"
    code = await client.error_code(nested)
    assert code == "GRAPHQL_VALIDATION_FAILED"


async def test_too_many_aliases_are_refused_even_through_fragments(client: GraphQLClient) -> None:
    aliases = " ".join(f"a{i}: __typename" for i in range(30))
    assert await client.error_code("query { " + aliases + " }") == "GRAPHQL_VALIDATION_FAILED"
    fragment = "fragment F on Query { " + " ".join(f"b{i}: __typename" for i in range(15)) + " }"
    query = "query { ...F c1: __typename c2: __typename c3: __typename c4: __typename "
    query += " c5: __typename c6: __typename }"
    assert await client.error_code(query + fragment) == "GRAPHQL_VALIDATION_FAILED"


async def test_too_many_tokens_are_refused(client: GraphQLClient) -> None:
    query = "query { " + " ".join("__typename" for _ in range(3000)) + " }"
    assert await client.error_code(query) == "GRAPHQL_PARSE_FAILED"  # parsing stops at the limit


async def test_wrong_types_and_syntax_get_codes(client: GraphQLClient) -> None:
    assert await client.error_code("query { me { id ") == "GRAPHQL_PARSE_FAILED"
    assert await client.error_code("query { nope }") == "GRAPHQL_VALIDATION_FAILED"
    query = "query($id: ID!) { user(id: $id) { id } }"
    assert await client.error_code(query, {"id": {"x": 1}}) == "BAD_USER_INPUT"
    assert await client.error_code("query { user(id: 5) { id } }") in (
        "GRAPHQL_VALIDATION_FAILED",
        "BAD_USER_INPUT",
    )
    assert await client.error_code('query { user(id: "bm90IGEgdXNlcg==") { id } }') in (
        "BAD_USER_INPUT",
        "NOT_FOUND",
    )


async def test_page_size_is_capped(client: GraphQLClient, db_session: object) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession

    from tests.helpers import db_id

    assert isinstance(db_session, AsyncSession)
    admin = await client.sign_up("admin")
    await db_session.execute(text("UPDATE users SET role = 'ADMIN' WHERE id = :id"), {"id": db_id(admin.id)})
    await db_session.commit()
    query = "query($n: Int) { users(first: $n) { edges { node { id } } } }"
    assert await client.error_code(query, {"n": 101}, token=admin.access_token) == "BAD_USER_INPUT"
    assert await client.error_code(query, {"n": -1}, token=admin.access_token) == "BAD_USER_INPUT"
    data = await client.data(query, {"n": 100}, token=admin.access_token)
    assert data["users"]["edges"]


async def test_huge_body_gets_413_with_code(client: GraphQLClient) -> None:
    response = await client.http.post(
        "/graphql",
        content=b'{"query": "' + b"a" * 2_000_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_mutations_are_not_allowed_over_get(client: GraphQLClient) -> None:
    response = await client.http.get("/graphql", params={"query": 'mutation { logOut(refreshToken: "x") }'})
    assert response.status_code in (400, 405)


async def test_members_cannot_use_admin_fields(client: GraphQLClient) -> None:
    member = await client.sign_up("mallory")
    query = "mutation($id: ID!) { setUserRole(userId: $id, role: ADMIN) { role } }"
    assert await client.error_code(query, {"id": member.id}, token=member.access_token) == "FORBIDDEN"
    assert await client.error_code(query, {"id": member.id}) == "UNAUTHENTICATED"
    users = "query { users { edges { node { id } } } }"
    assert await client.error_code(users, token=member.access_token) == "FORBIDDEN"


async def test_health_and_readiness(client: GraphQLClient) -> None:
    assert (await client.http.get("/healthz")).json() == {"status": "ok"}
    assert (await client.http.get("/readyz")).json() == {"status": "ready"}


def test_production_refuses_missing_or_weak_secret() -> None:
    for secret in (None, "", "change-me", "short"):
        with pytest.raises(SettingsError):
            Settings(app_env="production", secret_key=secret)
    Settings(app_env="production", secret_key="s" * 40)


@pytest.fixture
async def throttled_client(database_url: str, redis_url: str) -> AsyncIterator[GraphQLClient]:
    settings = make_settings(
        database_url, redis_url, rate_limit_login_per_email=3, rate_limit_login_per_ip=1000
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=("198.51.100.9", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield GraphQLClient(http)


async def test_login_is_rate_limited_per_email(throttled_client: GraphQLClient) -> None:
    query = """mutation { logIn(input: {email: "victim@example.com", password: "guess-guess"}) {
      accessToken } }"""
    codes = [await throttled_client.error_code(query) for _ in range(5)]
    assert codes[:3] == ["UNAUTHENTICATED"] * 3
    assert codes[3:] == ["RATE_LIMITED"] * 2


async def test_production_mode_hides_introspection_and_graphiql(database_url: str, redis_url: str) -> None:
    settings = make_settings(database_url, redis_url, app_env="production")
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            client = GraphQLClient(http)
            assert await client.error_code("query { __schema { types { name } } }") == (
                "GRAPHQL_VALIDATION_FAILED"
            )
            page = await http.get("/graphql", headers={"accept": "text/html"})
            assert "graphiql" not in page.text.lower()
            result = await client.execute("query { mee { id } }")
            assert "Did you mean" not in result["errors"][0]["message"]


async def test_graphql_response_json_media_type_gives_400_on_request_errors(client: GraphQLClient) -> None:
    headers = {"accept": "application/graphql-response+json"}
    bad = await client.http.post("/graphql", json={"query": "query { me { id "}, headers=headers)
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/graphql-response+json")
    good = await client.http.post("/graphql", json={"query": "query { me { id } }"}, headers=headers)
    assert good.status_code == 200
    assert good.headers["content-type"].startswith("application/graphql-response+json")
    plain = await client.http.post("/graphql", json={"query": "query { me { id "})
    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith("application/json")
