"""Apollo Client 4 and urql 6, set up as docs/clients.md shows (js/apollo.mjs, js/urql.mjs), run
under Node 22 against a real server: sign-up and a query with the token, a live board event over
graphql-ws, an avatar upload whose URL serves the file, persisted queries over GET, a socket that
reconnects with a refreshed token after the server closed it on expiry, and concurrent requests with
a refused token that refresh it, never presenting a refresh token twice, and are answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.clients.support import ACCESS_TTL_SECONDS, run_scenario, serving

pytestmark = pytest.mark.slow

Report = dict[str, Any]


@pytest.fixture(scope="module", params=["apollo", "urql"])
async def report(
    request: pytest.FixtureRequest, node: Path, clients_db: str, redis_url: str, avatar: Path
) -> AsyncIterator[Report]:
    """What js/scenario-<client>.mjs did against a server of its own (which keeps running for the
    module's tests, so they can fetch what the scenario left behind)."""
    async with serving(clients_db, redis_url) as api:
        scenario = f"scenario-{request.param}.mjs"
        report = await asyncio.to_thread(run_scenario, node, scenario, api, avatar)
        yield {**report, "origin": api.origin}


def test_sign_up_and_a_query_carry_the_member(report: Report) -> None:
    sign_up = next(e for e in report["http"] if e["operation"] == "SignUp")
    assert sign_up["status"] == 200
    assert sign_up["codes"] == []
    user = sign_up["data"]["signUp"]["user"]
    assert (user["id"], user["email"], user["points"]) == (report["userId"], report["email"], 1)
    me = [e for e in report["http"] if e["operation"] == "Me" and e["status"] == 200]
    assert me[-1]["data"]["me"]["email"] == report["email"]
    assert me[-1]["cacheControl"] == "private, no-store"


def test_a_subscription_receives_the_board_event_of_a_mutation(report: Report) -> None:
    published = {e["slot"]["id"] for e in report["events"] if e["kind"] == "PUBLISHED"}
    assert report["firstSlots"][-1] in published


def test_the_avatar_upload_is_served_at_its_url(report: Report, avatar: Path) -> None:
    uploaded = report["avatar"]
    assert (uploaded["contentType"], uploaded["width"], uploaded["height"]) == ("image/png", 24, 12)
    assert uploaded["url"].startswith(f"{report['origin']}/files/")
    upload = next(e for e in report["http"] if e["operation"] == "UploadAvatar")
    assert upload["multipart"]
    assert upload["method"] == "POST"
    served = httpx.get(uploaded["url"], timeout=10)  # anonymous: avatars are public
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.content == avatar.read_bytes()


def test_a_persisted_query_misses_once_then_runs_by_hash_over_get(report: Report) -> None:
    miss, *between, hit = [e for e in report["apq"] if e["operation"] == "OpenSlots"]
    assert (miss["method"], miss["query"], miss["codes"]) == ("GET", None, ["PERSISTED_QUERY_NOT_FOUND"])
    registered = [e for e in between if e["query"] and e["status"] == 200 and not e["codes"]]
    assert len(registered) == 1, between  # the document, sent once with its hash
    assert (hit["method"], hit["query"], hit["status"], hit["codes"]) == ("GET", None, 200, [])
    assert hit["data"]["openSlots"]["edges"], hit
    assert hit["cacheControl"] == "private, no-store"  # sent with the member's token


def test_the_socket_reconnects_with_a_fresh_token_after_expiry(report: Report) -> None:
    assert {"code": 4403, "reason": "Access token expired"} in report["socketCloses"]
    assert report["reconnections"] >= 1
    published = {e["slot"]["id"] for e in report["events"] if e["kind"] == "PUBLISHED"}
    assert report["slotsAfterReconnect"][-1] in published
    refreshes = [e for e in report["http"] if e["operation"] == "RefreshTokens"]
    assert refreshes, f"tokens of {ACCESS_TTL_SECONDS} s were never refreshed"


def test_concurrent_requests_with_a_refused_token_refresh_it_and_are_retried(report: Report) -> None:
    operations = {"Me_id", "Me_email", "Me_points"}
    refused = report["refused"]
    unauthenticated = {e["operation"] for e in refused if e["codes"] == ["UNAUTHENTICATED"]}
    assert unauthenticated == operations
    refreshes = [e for e in refused if e["operation"] == "RefreshTokens"]
    assert refreshes
    assert all(e["codes"] == [] for e in refreshes)
    # A refresh token is single-use: presenting one twice would revoke the session.
    assert len({e["refreshToken"] for e in refreshes}) == len(refreshes)
    assert report["afterRefresh"] == [
        {"__typename": "User", "id": report["userId"]},
        {"__typename": "User", "email": report["email"]},
        {"__typename": "User", "points": 1},
    ]
