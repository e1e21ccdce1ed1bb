"""GraphiQL in a real browser, with nothing but this server to load from (no CDN, no internet)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from app.http.factory import create_app
from app.http.graphiql import SCRIPTS, STATIC_DIR, STATIC_PREFIX, STYLESHEETS
from tests.browser.conftest import Browser
from tests.browser.support import VIDEO_LINK, Board, publish_until_seen
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
EXPLORER_FIELD = ".graphiql-explorer-root .graphiql-explorer-platformStats"
HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
RESULT = ".result-window .CodeMirror"
BOARD_SUBSCRIPTION = "subscription { openSlotsChanged { kind slot { id videoLink } } }"


def wait_for(browser: Browser, condition: Any, timeout: float = 30, message: str = "") -> Any:
    return WebDriverWait(browser.driver, timeout, poll_frequency=0.2).until(condition, message)


def set_editor(browser: Browser, selector: str, text: str) -> None:
    script = "document.querySelector(arguments[0]).CodeMirror.setValue(arguments[1])"
    browser.driver.execute_script(script, selector, text)


def editor_text(browser: Browser, selector: str) -> str:
    text: str = browser.driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.CodeMirror.getValue() : ''", selector
    )
    return text


def run(browser: Browser) -> None:
    browser.driver.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()


def result_after_run(browser: Browser, expected: str) -> dict[str, Any]:
    """Run the query editor's operation; the result once it contains `expected`."""
    set_editor(browser, RESULT, "")
    run(browser)
    wait_for(browser, lambda _: expected in editor_text(browser, RESULT), message=f"result with {expected!r}")
    result: dict[str, Any] = json.loads(editor_text(browser, RESULT))
    return result


def test_graphiql_works_offline_queries_headers_explorer_and_subscriptions(
    browser: Browser, api_server: str, board: Board
) -> None:
    driver = browser.driver
    driver.get(f"{api_server}/graphql")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, QUERY_EDITOR), message="GraphiQL rendered")
    assert "Loading" not in driver.find_element(By.ID, "graphiql").text

    # A query, and its result in the response pane.
    set_editor(browser, QUERY_EDITOR, "{ specializations { id name } }")
    result = result_after_run(browser, board.specialization_name)
    assert {"id": board.specialization_id, "name": board.specialization_name} in result["data"][
        "specializations"
    ]

    # The headers pane: its Authorization header goes with HTTP requests...
    driver.find_element(By.XPATH, "//button[normalize-space()='Headers']").click()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, HEADERS_EDITOR), message="headers pane")
    set_editor(browser, HEADERS_EDITOR, json.dumps({"Authorization": f"Bearer {board.host.token}"}))
    set_editor(browser, QUERY_EDITOR, "{ me { id } }")
    assert result_after_run(browser, board.host.id)["data"]["me"] == {"id": board.host.id}

    # ...and is the connection_init payload of subscriptions (graphql-transport-ws on /graphql).
    set_editor(browser, QUERY_EDITOR, BOARD_SUBSCRIPTION)
    set_editor(browser, RESULT, "")
    run(browser)
    wait_for(
        browser,
        lambda _: any('"connection_ack"' in frame for frame in browser.websocket_frames("Received")),
        message="graphql-ws connection acknowledged",
    )
    published = publish_until_seen(
        api_server, board, lambda ids: any(slot_id in editor_text(browser, RESULT) for slot_id in ids)
    )
    event = json.loads(editor_text(browser, RESULT))["data"]["openSlotsChanged"]
    assert event["kind"] == "PUBLISHED"
    assert event["slot"]["id"] in published
    assert event["slot"]["videoLink"] == VIDEO_LINK  # only the host sees it: the token was sent
    init = [json.loads(f) for f in browser.websocket_frames("Sent") if '"connection_init"' in f]
    assert init == [{"type": "connection_init", "payload": {"Authorization": f"Bearer {board.host.token}"}}]
    run(browser)  # stops the subscription

    # The explorer plugin lists the schema's fields and edits the query.
    set_editor(browser, QUERY_EDITOR, "{ me { id } }")
    driver.find_element(By.CSS_SELECTOR, "button[aria-label='Show GraphiQL Explorer']").click()
    field = wait_for(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, EXPLORER_FIELD),
        message="explorer lists the query fields",
    )[0]
    field.find_element(By.CSS_SELECTOR, "span").click()
    wait_for(
        browser,
        lambda _: "platformStats" in editor_text(browser, QUERY_EDITOR),
        message="explorer added the field",
    )

    # Everything came from this server: the page, scripts, styles, fetches and the websocket.
    origin = urlsplit(api_server)
    urls = browser.requested_urls()
    resources: list[str] = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert any(u.endswith("/graphiql-3.9.0/graphiql.min.js") for u in resources), resources
    assert any(u.startswith("ws://") for u in urls), urls
    for url in [*urls, *resources]:
        parts = urlsplit(url)
        if parts.scheme in ("data", "about", "chrome"):  # no network: inline, blank, the new-tab page
            continue
        assert (parts.scheme, parts.hostname, parts.port) in {
            ("http", "127.0.0.1", origin.port),
            ("ws", "127.0.0.1", origin.port),
        }, url
    assert browser.severe_console_entries() == []


def test_page_references_only_vendored_assets_served_with_long_cache(api_server: str) -> None:
    page = httpx.get(f"{api_server}/graphql", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-cache"
    assert "unpkg" not in page.text
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text)
    assets = re.findall(r"(?:src|href)=\"(/[^\"]+)\"", page.text)
    assert len(assets) == len(STYLESHEETS) + len(SCRIPTS)
    for path in assets:
        assert path.startswith(STATIC_PREFIX + "/"), path
        asset = httpx.get(f"{api_server}{path}", timeout=10)
        assert asset.status_code == 200, path
        assert asset.content == (STATIC_DIR / path.removeprefix(STATIC_PREFIX + "/")).read_bytes()
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    for directory in {Path(path).parent.name for path in assets}:
        assert any((STATIC_DIR / directory).glob("LICENSE*")), directory
    assert httpx.get(f"{api_server}{STATIC_PREFIX}/nothing.js", timeout=10).status_code == 404


async def test_no_graphiql_no_assets(database_url: str, redis_url: str) -> None:
    app = create_app(make_settings(database_url, redis_url, graphiql=False))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        asset = await client.get(f"{STATIC_PREFIX}/{SCRIPTS[0]}")
        assert asset.status_code == 404
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 404
