"""Automatic persisted queries (APQ), GET per GraphQL-over-HTTP with Cache-Control, and allowlist mode."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from strawberry.types.execution import PreExecutionError

from app.cli.commands import main
from app.core.clock import Clock
from app.core.persisted_queries import document_hash, parse_allowlist
from app.http.factory import create_app
from app.http.persisted_queries import build_manifest
from schema.build import build_schema
from schema.core_schema import graphql_core_schema
from tests.conftest import make_settings
from tests.helpers import GraphQLClient
from tests.http.test_response_cache import cache_of, wait_usable

BOARD = "query Board { openSlots(first: 5) { edges { node { id startsAt } } } }"
NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"


def unique_specs_query() -> str:
    """A document no other test registered (the session's app and Redis outlive a test)."""
    return f"query Specs{uuid.uuid4().hex} {{ specializations {{ id name }} }}"


def apq(sha: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


async def post(http: httpx.AsyncClient, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await http.post("/graphql", json=body, headers=headers)


async def get(http: httpx.AsyncClient, params: dict[str, Any], **headers: str) -> httpx.Response:
    encoded = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    return await http.get("/graphql", params=encoded, headers=headers)


def first_error(response: httpx.Response) -> dict[str, Any]:
    errors: list[dict[str, Any]] = response.json()["errors"]
    return errors[0]


@pytest.fixture
async def second_app(
    app: Starlette, database_url: str, redis_url: str, clock: Clock
) -> AsyncIterator[Starlette]:
    """Another instance on the same Redis, with the same key prefix."""
    prefix = app.state.services.settings.redis_prefix
    other = create_app(make_settings(database_url, redis_url, redis_prefix=prefix), clock=clock)
    async with other.router.lifespan_context(other):
        yield other


@pytest.fixture
def operations_dir(tmp_path: Path) -> Path:
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "specs.graphql").write_text(
        "query Specs { specializations { ...SpecFields } }\nquery Typename { __typename }\n"
    )
    (tmp_path / "ops" / "fragments.gql").write_text("fragment SpecFields on Specialization { id name }\n")
    return tmp_path / "ops"


@pytest.fixture
async def allowlist_app(
    database_url: str, redis_url: str, clock: Clock, tmp_path: Path, operations_dir: Path
) -> AsyncIterator[Starlette]:
    allowlist = tmp_path / "allowlist.json"
    allowlist.write_text(json.dumps(build_manifest([operations_dir])))
    settings = make_settings(
        database_url, redis_url, persisted_queries="allowlist", persisted_queries_file=allowlist
    )
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


def http_client(application: Starlette) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application, client=("203.0.113.11", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_apq_miss_register_hit_over_post(client: GraphQLClient) -> None:
    query = unique_specs_query()
    sha = document_hash(query)
    miss = await post(client.http, {"extensions": apq(sha)})
    assert miss.status_code == 200
    assert first_error(miss)["message"] == "PersistedQueryNotFound"
    assert first_error(miss)["extensions"]["code"] == NOT_FOUND
    registered = await post(client.http, {"query": query, "extensions": apq(sha)})
    assert "errors" not in registered.json(), registered.text
    hit = await post(client.http, {"extensions": apq(sha)})
    assert hit.json() == registered.json()


async def test_apq_miss_register_hit_over_get(client: GraphQLClient) -> None:
    query = unique_specs_query()
    sha = document_hash(query)
    miss = await get(client.http, {"extensions": apq(sha)}, accept="*/*")
    assert miss.headers["content-type"].startswith("application/json")  # not GraphiQL
    assert first_error(miss)["extensions"]["code"] == NOT_FOUND
    assert "public" not in miss.headers["cache-control"]  # a CDN must not keep the miss
    registered = await get(client.http, {"query": query, "extensions": apq(sha)})
    assert "errors" not in registered.json(), registered.text
    hit = await get(client.http, {"extensions": apq(sha)})
    assert hit.json() == registered.json()
    assert hit.headers["cache-control"] == "public, max-age=5"


async def test_hash_mismatch_is_refused_and_not_registered(client: GraphQLClient) -> None:
    query = unique_specs_query()
    wrong = document_hash(query + " ")
    response = await post(client.http, {"query": query, "extensions": apq(wrong)})
    error = first_error(response)
    assert error["message"] == "provided sha does not match query"
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "data" not in response.json() or response.json()["data"] is None
    again = await post(client.http, {"extensions": apq(wrong)})
    assert first_error(again)["extensions"]["code"] == NOT_FOUND


async def test_documents_over_the_limits_are_not_registered(client: GraphQLClient) -> None:
    query = "{ specializations { " + "id " * 2100 + "} }"  # over MAX_TOKENS
    sha = document_hash(query)
    response = await post(client.http, {"query": query, "extensions": apq(sha)})
    assert response.json()["errors"]
    assert first_error(await post(client.http, {"extensions": apq(sha)}))["extensions"]["code"] == NOT_FOUND


async def test_mutations_and_subscriptions_over_get_get_405(client: GraphQLClient) -> None:
    for document in (
        'mutation { logOut(refreshToken: "x") }',
        "subscription { openSlotsChanged { kind } }",
    ):
        for accept in ("application/json", "application/graphql-response+json"):
            response = await get(client.http, {"query": document}, accept=accept)
            assert response.status_code == 405, response.text
            assert response.headers["allow"] == "POST"
            assert first_error(response)["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    # The same mutation registered over POST (as APQ) is still refused over GET.
    mutation = 'mutation { logOut(refreshToken: "x") }'
    sha = document_hash(mutation)
    await post(client.http, {"query": mutation, "extensions": apq(sha)})
    response = await get(client.http, {"extensions": apq(sha)})
    assert response.status_code == 405


async def test_anonymous_get_of_the_board_is_public(app: Starlette, client: GraphQLClient) -> None:
    await wait_usable(cache_of(app))
    first = await get(client.http, {"query": BOARD})
    assert first.status_code == 200
    assert "errors" not in first.json(), first.text
    assert first.headers["cache-control"] == "public, max-age=5"
    assert "Accept" in first.headers["vary"]
    hits = cache_of(app).hits
    second = await get(client.http, {"query": BOARD})  # served by the response cache
    assert cache_of(app).hits == hits + 1
    assert second.json() == first.json()
    assert second.headers["cache-control"] == "public, max-age=5"
    assert int(second.headers["age"]) >= 0
    # Other root fields, and errors, are not for shared caches.
    me = await get(client.http, {"query": "{ me { id } }"})
    assert me.headers["cache-control"] == "no-store"
    bad = await get(client.http, {"query": "{ openSlots(first: 500) { edges { node { id } } } }"})
    assert "public" not in bad.headers["cache-control"]


async def test_authenticated_get_is_private(client: GraphQLClient) -> None:
    member = await client.sign_up("reader")
    response = await get(client.http, {"query": BOARD}, authorization=f"Bearer {member.access_token}")
    assert response.status_code == 200
    assert "errors" not in response.json(), response.text
    assert response.headers["cache-control"] == "private, no-store"


async def test_graphiql_is_still_served_on_get(client: GraphQLClient) -> None:
    page = await client.http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")


async def test_instances_sharing_redis_see_each_others_documents(
    client: GraphQLClient, second_app: Starlette, redis_url: str
) -> None:
    if not redis_url:
        pytest.skip("needs Redis")
    query = unique_specs_query()
    sha = document_hash(query)
    async with http_client(second_app) as other:
        assert first_error(await post(other, {"extensions": apq(sha)}))["extensions"]["code"] == NOT_FOUND
        registered = await post(client.http, {"query": query, "extensions": apq(sha)})  # the first instance
        assert "errors" not in registered.json(), registered.text
        hit = await post(other, {"extensions": apq(sha)})
        assert hit.json() == registered.json()
        # And the other way round, over GET.
        query2 = unique_specs_query()
        sha2 = document_hash(query2)
        await get(other, {"query": query2, "extensions": apq(sha2)})
        assert "errors" not in (await get(client.http, {"extensions": apq(sha2)})).json()


async def test_allowlist_mode_runs_only_listed_documents(
    allowlist_app: Starlette, operations_dir: Path
) -> None:
    listed = {op["name"]: op for op in build_manifest([operations_dir])["operations"]}
    specs = listed["Specs"]
    assert "fragment SpecFields" in specs["body"]
    async with http_client(allowlist_app) as http:
        by_hash = await post(http, {"extensions": apq(specs["id"])})
        assert "errors" not in by_hash.json(), by_hash.text
        over_get = await get(http, {"extensions": apq(specs["id"])})
        assert over_get.json() == by_hash.json()
        assert over_get.headers["cache-control"] == "public, max-age=5"
        # The listed text in full runs too; anything else is refused, hashed or not.
        assert "errors" not in (await post(http, {"query": specs["body"]})).json()
        foreign = "{ specializations { id } }"
        for body in (
            {"query": foreign},
            {"query": foreign, "extensions": apq(document_hash(foreign))},
            {"extensions": apq(document_hash(foreign))},  # and it was not registered
            {"query": foreign, "extensions": apq(specs["id"])},  # a listed id with another text
        ):
            response = await post(http, body)
            assert first_error(response)["extensions"]["code"] == NOT_ALLOWED, body
        refused = await get(http, {"query": foreign}, accept="application/graphql-response+json")
        assert refused.status_code == 400
        assert first_error(refused)["extensions"]["code"] == NOT_ALLOWED


async def test_allowlist_mode_covers_every_transport(allowlist_app: Starlette) -> None:
    """WebSocket operations send their document in full; the schema refuses foreign ones too."""
    schema = allowlist_app.state.schema
    listed = await schema.execute("query Typename {\n  __typename\n}")
    assert listed.errors is None
    assert listed.data == {"__typename": "Query"}
    foreign = await schema.execute("{ __typename }")
    assert foreign.errors
    assert (foreign.errors[0].extensions or {})["code"] == NOT_ALLOWED
    stream = await schema.stream("subscription { openSlotsChanged { kind } }")
    first = await anext(stream)
    await stream.aclose()
    assert isinstance(first, PreExecutionError)
    assert first.errors
    assert (first.errors[0].extensions or {})["code"] == NOT_ALLOWED


def test_allowlist_files_in_both_formats(operations_dir: Path) -> None:
    manifest = build_manifest([operations_dir])
    documents = parse_allowlist(manifest)
    assert len(documents) == 2
    assert all(document_hash(body) == sha for sha, body in documents.items())
    assert parse_allowlist(dict(documents)) == documents
    bad_files: list[object] = [[], {"format": "apollo-persisted-query-manifest", "version": 2}, {"x": 1}]
    for bad in bad_files:
        with pytest.raises(ValueError, match=r"manifest|entry"):
            parse_allowlist(bad)
    schema = graphql_core_schema(build_schema(make_settings("postgresql://unused", None)))
    with pytest.raises(ValueError, match="no fragment"):
        build_manifest([operations_dir / "specs.graphql"], schema=schema)


def test_build_allowlist_command(operations_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build-allowlist", str(operations_dir)]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["format"] == "apollo-persisted-query-manifest"
    assert sorted(op["name"] for op in manifest["operations"]) == ["Specs", "Typename"]
    (operations_dir / "broken.graphql").write_text("query Broken { noSuchField }")
    assert main(["build-allowlist", str(operations_dir)]) == 1
    assert "noSuchField" in capsys.readouterr().err
