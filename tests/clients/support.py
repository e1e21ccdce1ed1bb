"""Helpers of the client tests: the server they talk to, Node and its pinned packages, the
scenarios' reports, and a record of every HTTP exchange the Python client makes."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.process import running_server

HERE = Path(__file__).resolve().parent
JS = HERE / "js"
NODE_MODULES = JS / "node_modules"
INSTALLED_STAMP = NODE_MODULES / ".installed-from-lock"
# Short enough for the scenarios to see their tokens expire and be refreshed within seconds; long
# enough that a socket, which the server closes when its token expires, is open most of the time
# (graphql-ws waits 1.3 to 4 s before reconnecting) and a published event finds it open.
ACCESS_TTL_SECONDS = 8
SIGN_UP = "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }"
CREATE_SPECIALIZATION = "mutation($name: String!) { createSpecialization(name: $name) { id } }"


@dataclass(frozen=True)
class Api:
    """A running server, with a specialization members can publish slots in."""

    origin: str
    specialization_id: str
    log: Path

    @property
    def graphql_url(self) -> str:
        return f"{self.origin}/graphql"

    @property
    def ws_url(self) -> str:
        return f"{self.origin.replace('http', 'ws', 1)}/graphql"


async def graphql(
    http: httpx.AsyncClient, url: str, query: str, variables: dict[str, Any] | None = None, token: str = ""
) -> dict[str, Any]:
    """The `data` of an error-free result."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(url, json={"query": query, "variables": variables or {}}, headers=headers)
    body: dict[str, Any] = response.json()
    assert response.status_code == 200, body
    assert not body.get("errors"), body
    data: dict[str, Any] = body["data"]
    return data


@contextlib.asynccontextmanager
async def serving(database_url: str, redis_url: str) -> AsyncIterator[Api]:
    """A server of its own, so that no client finds a document another one registered, with a
    specialization that an admin created over the API."""
    env = {
        "APP_ENV": "development",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "clients-test-" + secrets.token_urlsafe(32),
        "REDIS_PREFIX": f"clients-{secrets.token_hex(4)}:",
        "ACCESS_TOKEN_TTL_SECONDS": str(ACCESS_TTL_SECONDS),
        "RATE_LIMIT_SIGNUP_PER_IP": "10000",
        "RATE_LIMIT_LOGIN_PER_IP": "10000",
        "DB_POOL_SIZE": "5",
    }
    with tempfile.TemporaryDirectory(prefix="mi-clients-") as directory:
        log = Path(directory) / "server.log"
        with running_server(env, output=log, log_level="info") as origin:
            yield Api(origin, await _specialization(origin, database_url), log)


async def _specialization(origin: str, database_url: str) -> str:
    email = f"admin-{secrets.token_hex(4)}@example.com"
    variables = {"input": {"email": email, "password": "correct horse battery", "displayName": "Admin"}}
    async with httpx.AsyncClient(timeout=30) as http:
        token = (await graphql(http, f"{origin}/graphql", SIGN_UP, variables))["signUp"]["accessToken"]
        connection = await asyncpg.connect(database_url)
        try:
            await connection.execute("UPDATE users SET role = 'ADMIN' WHERE email = $1", email)
        finally:
            await connection.close()
        name = {"name": f"Client set-ups {secrets.token_hex(3)}"}
        created = await graphql(http, f"{origin}/graphql", CREATE_SPECIALIZATION, name, token)
    specialization_id: str = created["createSpecialization"]["id"]
    return specialization_id


def png(width: int, height: int) -> bytes:
    """The smallest PNG header the server's sniffer reads the size from."""
    header = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + header + struct.pack(">I", zlib.crc32(header))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00\x00\x00\x00IEND\xaeB`\x82"


def require_npm() -> str:
    """npm's path; skip without it (fail under CI=true, where these tests must run)."""
    npm = shutil.which("npm")
    if npm is not None:
        return npm
    reason = "npm is not installed (the JavaScript client tests install their pinned packages with it)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: the client tests must run, but {reason}")
    pytest.skip(reason)


def _lock_digest() -> str:
    manifests = (JS / "package.json").read_bytes() + (JS / "package-lock.json").read_bytes()
    return hashlib.sha256(manifests).hexdigest()


@contextlib.contextmanager
def _exclusive(name: str) -> Iterator[None]:
    """One installer at a time on this machine (two test runs may share the work tree)."""
    tree = hashlib.sha256(str(JS).encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"mi-clients-{tree}.{name}"
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def install_node_packages(npm: str) -> Path:
    """`npm ci` into js/node_modules when the lock file changed since the last install; Node 22's path."""
    with _exclusive("npm-ci"):
        if not INSTALLED_STAMP.exists() or INSTALLED_STAMP.read_text() != _lock_digest():
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"], cwd=JS, capture_output=True, text=True, timeout=600
            )
            assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
            INSTALLED_STAMP.write_text(_lock_digest())
    node = NODE_MODULES / ".bin" / "node"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("v22."), f"{node} is {version.strip()}; the set-ups need Node 22"
    return node


def run_scenario(node: Path, script: str, api: Api, avatar: Path) -> dict[str, Any]:
    """Run js/`script` against `api`; its report (the last line it prints)."""
    env = {
        **os.environ,
        "API_ORIGIN": api.origin,
        "SPECIALIZATION_ID": api.specialization_id,
        "AVATAR_PNG": str(avatar),
        "ACCESS_TTL_SECONDS": str(ACCESS_TTL_SECONDS),
        "NONCE": secrets.token_hex(4),
    }
    done = subprocess.run([node, script], cwd=JS, env=env, capture_output=True, text=True, timeout=240)
    server_log = api.log.read_text(errors="replace")[-6000:]
    assert done.returncode == 0, (
        f"{script} failed:\n{done.stderr}\n{done.stdout[-4000:]}\nserver:\n{server_log}"
    )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


@dataclass
class Exchange:
    """One HTTP request to /graphql and its reply, as the Python client sent and received them."""

    method: str
    operation: str | None
    has_query: bool
    status: int
    cache_control: str | None
    codes: list[str]
    data: Any


def _request_fields(request: httpx.Request) -> tuple[str | None, bool]:
    if request.method == "GET":
        params = request.url.params
        return params.get("operationName"), "query" in params
    if not request.headers.get("content-type", "").startswith("application/json"):
        return None, True  # multipart: an upload
    body = json.loads(request.content)
    return body.get("operationName"), "query" in body


@dataclass
class Traffic:
    """Every exchange with /graphql made through httpx while the fixture is active."""

    exchanges: list[Exchange] = field(default_factory=list)

    async def record(self, request: httpx.Request, response: httpx.Response) -> None:
        if request.url.path != "/graphql":
            return
        body = json.loads(await response.aread())
        operation, has_query = _request_fields(request)
        codes = [str((e.get("extensions") or {}).get("code")) for e in body.get("errors") or []]
        self.exchanges.append(
            Exchange(
                request.method,
                operation,
                has_query,
                response.status_code,
                response.headers.get("cache-control"),
                codes,
                body.get("data"),
            )
        )


def record_traffic(monkeypatch: pytest.MonkeyPatch) -> Traffic:
    """Record every exchange with /graphql that goes through httpx (the Python client's)."""
    recorded = Traffic()
    send: Callable[[httpx.AsyncHTTPTransport, httpx.Request], Awaitable[httpx.Response]]
    send = httpx.AsyncHTTPTransport.handle_async_request

    async def recording(transport: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        response = await send(transport, request)
        await recorded.record(request, response)
        return response

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", recording)
    return recorded
