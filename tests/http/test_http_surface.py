"""The HTTP surface an attacker sees: security headers, /metrics behind METRICS_TOKEN, CORS refusals in
JSON, and GraphQL over HTTP's `application/graphql-response+json` (docs/trust.md, "Attacks tried")."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.http.cors import ALLOWED_HEADERS
from app.http.factory import create_app
from app.http.graphiql import SCRIPTS, STATIC_PREFIX
from app.http.security_headers import forced_cache_control, secured_headers
from tests.conftest import make_settings
from tests.helpers import GraphQLClient

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
ORIGIN = "https://app.example.com"
ASSET = f"{STATIC_PREFIX}/{SCRIPTS[0]}"


def http_client(app: Starlette, base_url: str = "http://testserver") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


def assert_api_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "server" not in response.headers


# --- Security headers ------------------------------------------------------------------------
async def test_every_reply_has_the_security_headers(client: GraphQLClient) -> None:
    health = await client.http.get("/healthz")
    missing = await client.http.get("/no-such-path")
    graphql = await client.http.post("/graphql", json={"query": "query { me { id } }"})
    too_large = await client.http.post(
        "/graphql", content=b"x" * 2_000_000, headers={"content-type": "application/json"}
    )
    for response in (health, missing, graphql, too_large):
        assert_api_headers(response)
        assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert response.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in response.headers  # plain HTTP


async def test_auth_and_mutation_replies_are_never_stored(client: GraphQLClient) -> None:
    member = await client.sign_up("headers")  # signUp: a mutation
    log_in = await client.post(
        'mutation($e: String!) { logIn(input: {email: $e, password: "correct horse battery"}) '
        "{ accessToken } }",
        {"e": member.email},
    )
    refresh = await client.post(
        "mutation($t: String!) { refreshTokens(refreshToken: $t) { accessToken } }",
        {"t": member.refresh_token},
    )
    for response in (log_in, refresh):
        assert response.json()["data"], response.text
        assert response.headers["cache-control"] == "no-store"
    authenticated = await client.post("query { me { id } }", token=member.access_token)
    assert authenticated.json()["data"]["me"], authenticated.text
    assert authenticated.headers["cache-control"] == "private, no-store"
    # A route's own caching policy holds for anonymous requests, never for one carrying credentials.
    anonymous = await client.http.get(ASSET)
    assert "immutable" in anonymous.headers["cache-control"]
    for credentials in ({"Authorization": f"Bearer {member.access_token}"}, {"X-API-Key": "mik_x"}):
        response = await client.http.get(ASSET, headers=credentials)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "private, no-store"


def test_mutations_are_not_stored_whatever_the_method() -> None:
    """GET mutations are refused today; if GET ever carried one, its reply would still be no-store."""
    get = {"method": "GET", "headers": [], "state": {}}
    assert forced_cache_control(get) is None
    assert forced_cache_control({**get, "state": {"operation_type": "mutation"}}) == b"no-store"
    assert forced_cache_control({**get, "method": "POST"}) == b"no-store"
    assert forced_cache_control({**get, "headers": [(b"x-api-key", b"mik_x")]}) == b"private, no-store"
    headers = secured_headers([(b"Cache-Control", b"public")], cache_control=b"no-store", hsts=None)
    assert [v for k, v in headers if k.lower() == b"cache-control"] == [b"no-store"]
    kept = secured_headers([(b"Cache-Control", b"public")], cache_control=None, hsts=None)
    assert [v for k, v in kept if k.lower() == b"cache-control"] == [b"public"]


async def test_hsts_only_over_https(app: Starlette) -> None:
    async with http_client(app, "https://testserver") as https:
        response = await https.get("/healthz")
        assert response.headers["strict-transport-security"] == "max-age=31536000"
    async with http_client(app) as http:
        behind_proxy = await http.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        assert behind_proxy.headers["strict-transport-security"] == "max-age=31536000"
        plain = await http.get("/healthz", headers={"X-Forwarded-Proto": "http"})
        assert "strict-transport-security" not in plain.headers


async def test_hsts_can_be_turned_off(database_url: str, redis_url: str) -> None:
    application = create_app(make_settings(database_url, redis_url, hsts_max_age_seconds=0))
    async with http_client(application, "https://testserver") as https:
        assert "strict-transport-security" not in (await https.get("/healthz")).headers


async def test_graphiql_page_has_a_policy_that_lets_only_its_own_scripts_run(client: GraphQLClient) -> None:
    page = await client.http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    policy = dict(
        directive.strip().split(" ", 1) for directive in page.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["connect-src"] == "'self'"
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert policy["script-src"] == f"'self' 'sha256-{digest}'"
    assert "cdn" not in page.text.lower()
    assert page.headers["cache-control"] == "no-cache"
    assert_api_headers(page)


# --- /metrics --------------------------------------------------------------------------------
async def _metrics(application: Starlette, headers: dict[str, str] | None = None) -> httpx.Response:
    async with http_client(application) as http:
        return await http.get("/metrics", headers=headers or {})


async def test_metrics_are_open_in_development_and_absent_in_production(
    database_url: str, redis_url: str, client: GraphQLClient
) -> None:
    assert (await client.http.get("/metrics")).status_code == 200
    production = create_app(make_settings(database_url, redis_url, app_env="production"))
    response = await _metrics(production)
    assert response.status_code == 404
    assert "mockinterview_" not in response.text
    assert (await _metrics(production, {"Authorization": "Bearer anything"})).status_code == 404


@pytest.mark.parametrize("env", ["production", "development"])
async def test_metrics_need_the_token_when_one_is_set(database_url: str, redis_url: str, env: str) -> None:
    token = "m" * 40
    application = create_app(make_settings(database_url, redis_url, app_env=env, metrics_token=token))
    for headers in (None, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {token}"}):
        refused = await _metrics(application, headers)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert "mockinterview_" not in refused.text
    allowed = await _metrics(application, {"Authorization": f"Bearer {token}"})
    assert allowed.status_code == 200
    assert "mockinterview_http_requests_total" in allowed.text
    assert allowed.headers["cache-control"] == "private, no-store"


# --- CORS ------------------------------------------------------------------------------------
def preflight(origin: str, *headers: str) -> dict[str, str]:
    request = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    if headers:
        request["Access-Control-Request-Headers"] = ", ".join(headers)
    return request


def assert_refused(response: httpx.Response, *refused: str) -> None:
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "CORS_REFUSED", "refused": list(refused)}
    assert "access-control-allow-origin" not in response.headers or "origin" not in refused
    assert_api_headers(response)


async def test_cors_without_allowed_origins_refuses_preflights_in_json(client: GraphQLClient) -> None:
    response = await client.http.options("/graphql", headers=preflight(ORIGIN, "content-type"))
    assert_refused(response, "origin")
    simple = await client.http.post(
        "/graphql", json={"query": "query { me { id } }"}, headers={"Origin": ORIGIN}
    )
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers


@pytest.fixture(scope="module")
async def cors_app(database_url: str, redis_url: str) -> AsyncIterator[Starlette]:
    application = create_app(make_settings(database_url, redis_url, cors_origins=[ORIGIN]))
    async with application.router.lifespan_context(application):
        yield application


async def test_cors_allows_exactly_the_headers_the_api_needs(cors_app: Starlette) -> None:
    async with http_client(cors_app) as http:
        allowed = await http.options("/graphql", headers=preflight(ORIGIN, *ALLOWED_HEADERS))
        assert allowed.status_code == 200, allowed.text
        assert allowed.headers["access-control-allow-origin"] == ORIGIN
        listed = {h.strip().lower() for h in allowed.headers["access-control-allow-headers"].split(",")}
        assert set(ALLOWED_HEADERS) <= listed
        assert listed - set(ALLOWED_HEADERS) <= {"accept", "accept-language", "content-language"}
        assert_refused(await http.options("/graphql", headers=preflight(ORIGIN, "x-evil")), "headers")
        assert_refused(await http.options("/graphql", headers=preflight("https://evil.example")), "origin")
        both = await http.options("/graphql", headers=preflight("https://evil.example", "cookie"))
        assert_refused(both, "origin", "headers")
        simple = await http.post(
            "/graphql", json={"query": "query { me { id } }"}, headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in simple.headers


# --- GraphQL over HTTP -----------------------------------------------------------------------
REQUEST_ERRORS: dict[str, tuple[str, dict[str, Any]]] = {
    "parse": ("query { me { id ", {}),
    "validation": ("query { noSuchField }", {}),
    "variable coercion": ("query($id: ID!) { user(id: $id) { id } }", {"id": {"not": "an id"}}),
    "missing variable": ("query($id: ID!) { user(id: $id) { id } }", {}),
}


async def _post(client: GraphQLClient, case: str, accept: str | None) -> httpx.Response:
    query, variables = REQUEST_ERRORS[case]
    headers = {"accept": accept} if accept else {}
    return await client.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


@pytest.mark.parametrize("case", list(REQUEST_ERRORS))
async def test_graphql_response_json_request_errors_are_4xx_without_data(
    client: GraphQLClient, case: str
) -> None:
    response = await _post(client, case, GRAPHQL_RESPONSE_JSON)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    body = response.json()
    assert "data" not in body, body
    assert body["errors"]
    assert all(e["extensions"]["code"] for e in body["errors"])


@pytest.mark.parametrize("case", list(REQUEST_ERRORS))
@pytest.mark.parametrize("accept", [None, "application/json"])
async def test_application_json_request_errors_stay_200_with_null_data(
    client: GraphQLClient, case: str, accept: str | None
) -> None:
    response = await _post(client, case, accept)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert "data" in body
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"]


async def test_graphql_response_json_field_errors_keep_data_and_200(client: GraphQLClient) -> None:
    """An error during execution (it has a path) is a partial result: 200, with `data`."""
    for accept in (GRAPHQL_RESPONSE_JSON, "application/json"):
        response = await client.http.post(
            "/graphql",
            json={"query": "query { me { id } platformStats { members } }"},
            headers={"accept": accept},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "data" in body
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert body["errors"][0]["path"] == ["platformStats"]
