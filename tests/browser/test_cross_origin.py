"""A page on another origin uses the API: CORS with the upload headers, and websockets by origin."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.browser.conftest import Browser
from tests.browser.support import Board, publish_until_seen, sign_up
from tests.uploads.test_uploads import png

pytestmark = pytest.mark.slow

UPLOAD_HEADERS = ("graphql-require-preflight", "apollo-require-preflight", "x-api-key")


def page_state(browser: Browser) -> dict[str, Any]:
    state: dict[str, Any] = browser.driver.execute_script("return window.state")
    return state


def wait_for_state(browser: Browser, ready: Any, what: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        state = page_state(browser)
        assert state["error"] is None, state["error"]
        if ready(state):
            return state
        assert time.monotonic() < deadline, f"page never got to: {what}; state: {state}"
        time.sleep(0.2)


def test_page_on_another_origin_signs_up_uploads_reads_and_follows_the_board(
    browser: Browser, api_server: str, second_origin: str, board: Board
) -> None:
    query = urlencode({"api": api_server, "spec": board.specialization_id})
    browser.driver.get(f"{second_origin}/cross_origin.html?{query}")
    state = wait_for_state(browser, lambda s: s["done"] and s["connected"], "subscribed")

    assert state["signedUp"]
    assert state["avatar"]["contentType"] == "image/png"
    assert (state["avatar"]["width"], state["avatar"]["height"]) == (40, 30)
    assert (state["apolloAvatar"]["width"], state["apolloAvatar"]["height"]) == (24, 12)
    assert state["avatarImage"] == {"width": 24, "height": 12}  # the stored PNG, shown from the API
    assert isinstance(state["board"], list)

    def received(published: list[str]) -> bool:
        events = page_state(browser)["events"]
        return any(e["data"]["openSlotsChanged"]["slot"]["id"] in published for e in events)

    published = publish_until_seen(api_server, board, received)
    events = [e["data"]["openSlotsChanged"] for e in page_state(browser)["events"]]
    assert {"kind": "PUBLISHED", "slot": {"id": published[-1]}} in events
    assert browser.severe_console_entries() == []


def test_preflight_allows_the_upload_and_api_key_headers(api_server: str, second_origin: str) -> None:
    response = httpx.options(
        f"{api_server}/graphql",
        headers={
            "Origin": second_origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": ",".join(("authorization", "content-type", *UPLOAD_HEADERS)),
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == second_origin
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert set(UPLOAD_HEADERS) <= allowed


def test_a_real_server_sends_security_headers_and_no_banner(api_server: str, second_origin: str) -> None:
    """Through uvicorn itself (`serve`): no `server: uvicorn`, the security headers, JSON CORS refusals."""
    health = httpx.get(f"{api_server}/healthz", timeout=10)
    assert "server" not in health.headers
    assert health.headers["date"]  # required by RFC 9110 for origin servers; names no software
    assert health.headers["x-content-type-options"] == "nosniff"
    assert health.headers["referrer-policy"] == "no-referrer"
    assert health.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    refused = httpx.options(
        f"{api_server}/graphql",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "CORS_REFUSED"
    assert "server" not in refused.headers


@pytest.mark.parametrize("header", ["GraphQL-Require-Preflight", "Apollo-Require-Preflight", None])
def test_multipart_upload_needs_either_preflight_header(api_server: str, header: str | None) -> None:
    member = sign_up(api_server, "uploader")
    operations = {
        "query": "mutation($f: Upload!) { uploadAvatar(file: $f) { width } }",
        "variables": {"f": None},
    }
    headers = {"Authorization": f"Bearer {member.token}"}
    if header:
        headers[header] = "1"
    response = httpx.post(
        f"{api_server}/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
        files={"0": ("a.png", png(3, 2), "image/png")},
        headers=headers,
        timeout=30,
    )
    if header is None:
        assert response.status_code == 400
    else:
        assert response.json() == {"data": {"uploadAvatar": {"width": 3}}}
