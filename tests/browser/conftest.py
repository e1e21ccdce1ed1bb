"""Browser tests: Debian's Chromium driven by Selenium through chromedriver, headless.

Without /usr/bin/chromium or /usr/bin/chromedriver the browser tests skip, except under CI=true,
where they fail (`.ci/run` installs both). On a failure the screenshot, the page, the console log
and the network log go to BROWSER_ARTIFACTS (default tests/browser/.artifacts/).
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from db.migrate import upgrade
from tests import infra
from tests.browser.support import Board, gql, sign_up
from tests.process import free_port, running_server

HERE = Path(__file__).resolve().parent
SITE = HERE / "site"
CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
# Without the background-networking switches Chromium's own connections (updates, sync, field
# trials) go out and are refused on a closed network.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)
SECRET = "browser-test-" + secrets.token_urlsafe(32)
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def require_chromium() -> None:
    """Skip (fail under CI=true) when the browser or its driver is missing."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if not missing:
        return
    reason = f"{' and '.join(missing)} not installed (apt-get install chromium chromium-driver)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: browser tests must run, but {reason}")
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


@dataclass
class Browser:
    """A Chromium session that keeps its console and network logs (Chrome hands each out once)."""

    driver: webdriver.Chrome
    console: list[dict[str, Any]] = field(default_factory=list)
    network: list[dict[str, Any]] = field(default_factory=list)

    def drain_logs(self) -> None:
        self.console.extend(_log(self.driver, "browser"))
        for entry in _log(self.driver, "performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"].startswith("Network."):
                self.network.append(message)

    def requested_urls(self) -> list[str]:
        """Every URL the page asked for: documents, scripts, styles, fetches, images, websockets."""
        self.drain_logs()
        urls = []
        for message in self.network:
            params = message.get("params", {})
            if message["method"] == "Network.requestWillBeSent":
                urls.append(params["request"]["url"])
            elif message["method"] == "Network.webSocketCreated":
                urls.append(params["url"])
        return urls

    def websocket_frames(self, direction: str) -> list[str]:
        """Payloads of websocket frames, "Sent" or "Received"."""
        self.drain_logs()
        method = f"Network.webSocketFrame{direction}"
        return [m["params"]["response"]["payloadData"] for m in self.network if m["method"] == method]

    def severe_console_entries(self) -> list[dict[str, Any]]:
        self.drain_logs()
        return [entry for entry in self.console if entry.get("level") == "SEVERE"]

    def save_artifacts(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(directory / "screenshot.png"))
        (directory / "page.html").write_text(self.driver.page_source)
        self.drain_logs()
        (directory / "console.json").write_text(json.dumps(self.console, indent=2))
        (directory / "network.json").write_text(json.dumps(self.network, indent=2))


def _log(driver: webdriver.Chrome, kind: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = driver.get_log(kind)  # type: ignore[no-untyped-call]  # untyped in selenium
    return entries


def artifacts_dir() -> Path:
    return Path(os.environ.get("BROWSER_ARTIFACTS") or HERE / ".artifacts")


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Iterator[Browser]:
    require_chromium()
    profile = tempfile.mkdtemp(prefix="mi-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    session = Browser(driver)
    try:
        yield session
    finally:
        try:
            reports = request.node.stash.get(REPORTS, {})
            if any(report.failed for report in reports.values()):
                name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
                target = artifacts_dir() / name
                session.save_artifacts(target)
                print(f"browser artifacts saved in {target}")
        finally:
            driver.quit()
            shutil.rmtree(profile, ignore_errors=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


@pytest.fixture(scope="package")
def second_origin() -> Iterator[str]:
    """A static HTTP server for tests/browser/site on its own port: another origin than the API."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", free_port()), functools.partial(_QuietHandler, directory=str(SITE))
    )
    thread = threading.Thread(target=server.serve_forever, name="second-origin", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="package")
async def browser_db(postgres_server: str) -> AsyncIterator[str]:
    name = infra.fresh_database_name()
    url = await infra.create_database(postgres_server, name)
    await asyncio.to_thread(upgrade, url)
    yield url
    await infra.drop_database(postgres_server, name)


@pytest.fixture(scope="package")
def api_server(browser_db: str, redis_url: str, second_origin: str) -> Iterator[str]:
    """A real `mockinterview serve` with GraphiQL on and CORS/websockets open to `second_origin`."""
    env = {
        "APP_ENV": "development",
        "GRAPHIQL": "true",
        "DATABASE_URL": browser_db,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        "REDIS_PREFIX": f"browser-{secrets.token_hex(4)}:",
        "CORS_ORIGINS": json.dumps([second_origin]),
        "WS_ALLOWED_ORIGINS": json.dumps([second_origin]),
        "RATE_LIMIT_SIGNUP_PER_IP": "10000",
        "RATE_LIMIT_LOGIN_PER_IP": "10000",
        "ARGON2_TIME_COST": "2",
    }
    with running_server(env) as base:
        yield base


@pytest.fixture(scope="package")
async def board(api_server: str, browser_db: str) -> Board:
    admin = await asyncio.to_thread(sign_up, api_server, "admin")
    connection = await asyncpg.connect(browser_db)
    try:
        await connection.execute("UPDATE users SET role = 'ADMIN' WHERE email = $1", admin.email)
    finally:
        await connection.close()
    name = f"Offline GraphQL {secrets.token_hex(3)}"
    create = "mutation($name: String!) { createSpecialization(name: $name) { id name } }"
    created = await asyncio.to_thread(gql, api_server, create, {"name": name}, admin.token)
    host = await asyncio.to_thread(sign_up, api_server, "host")
    return Board(created["createSpecialization"]["id"], name, host)
