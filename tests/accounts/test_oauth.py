"""OpenID Connect login end to end against a real provider served by uvicorn on loopback."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from app.core.clock import Clock
from app.http.factory import create_app
from db.models import OAuthIdentity, User
from resolvers.unit_of_work import Services
from tests.conftest import make_settings
from tests.helpers import GraphQLClient

CLIENT_ID = "mi-client"
CLIENT_SECRET = "provider-secret"
ME = "query { me { id email displayName points } }"


class LoopbackProvider:
    """A minimal OpenID provider: discovery, JWKS, authorize (auto-approves) and token endpoints."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"})
        self.issuer = ""
        self.codes: dict[str, dict[str, Any]] = {}
        self.identity: dict[str, Any] = {}
        self.nonce_override: str | None = None
        self.fetches = {"discovery": 0, "jwks": 0}

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
            ]
        )

    async def discovery(self, request: Request) -> Response:
        self.fetches["discovery"] += 1
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        self.fetches["jwks"] += 1
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def authorize(self, request: Request) -> Response:
        params = request.query_params
        assert params["client_id"] == CLIENT_ID
        assert params["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "nonce": params["nonce"],
            "challenge": params["code_challenge"],
            "redirect_uri": params["redirect_uri"],
        }
        query = urlencode({"code": code, "state": params["state"]})
        return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=302)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        expected_auth = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected_auth}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.codes.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
        if (
            grant is None
            or challenge.decode() != grant["challenge"]
            or form.get("redirect_uri") != grant["redirect_uri"]
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": self.nonce_override or grant["nonce"],
            **self.identity,
        }
        id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)
        return JSONResponse(
            {"access_token": "opaque", "token_type": "Bearer", "expires_in": 300, "id_token": id_token}
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def serving(app: Starlette, port: int) -> AsyncIterator[None]:
    """`app` served by uvicorn on 127.0.0.1:`port`."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=5, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn exposes only a flag)
        await asyncio.sleep(0.01)
    yield
    server.should_exit = True
    await task


@asynccontextmanager
async def browser_of(app: Starlette, connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of `app`, inside the test's rolled-back transaction."""
    state: Services = app.state.services
    original = state.sessionmaker
    state.sessionmaker = async_sessionmaker(
        bind=connection, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
    )
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        state.sessionmaker = original


@pytest.fixture(scope="module")
async def provider() -> AsyncIterator[LoopbackProvider]:
    server_provider = LoopbackProvider()
    port = _free_port()
    server_provider.issuer = f"http://127.0.0.1:{port}"
    async with serving(server_provider.app(), port):
        yield server_provider


@pytest.fixture(scope="module")
async def oauth_app(
    provider: LoopbackProvider, database_url: str, redis_url: str, clock: Clock
) -> AsyncIterator[Starlette]:
    settings = make_settings(
        database_url,
        redis_url,
        public_base_url="http://testserver",
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
    )
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(oauth_app: Starlette, connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    async with browser_of(oauth_app, connection) as client:
        yield client


def _identity(subject: str, email: str, verified: bool = True) -> dict[str, Any]:
    return {"sub": subject, "email": email, "email_verified": verified, "name": "Olive Oidc"}


async def run_flow(http: httpx.AsyncClient, *, state: str | None = None) -> httpx.Response:
    """Log in, follow the provider's redirect like a browser, return the callback response."""
    start = await http.get("/auth/oidc/login")
    assert start.status_code == 302
    location = start.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == ["http://testserver/auth/oidc/callback"]
    assert query["nonce"][0]
    assert query["state"][0]
    async with httpx.AsyncClient() as browser:
        approved = await browser.get(location)
    assert approved.status_code == 302
    back = parse_qs(urlsplit(approved.headers["location"]).query)
    params = {"code": back["code"][0], "state": state or back["state"][0]}
    return await http.get("/auth/oidc/callback", params=params)


async def test_first_login_creates_a_member_and_second_login_finds_it(
    http: httpx.AsyncClient, provider: LoopbackProvider, connection: AsyncConnection
) -> None:
    subject = secrets.token_hex(8)
    provider.identity = _identity(subject, f"olive-{subject}@example.com")
    first = await run_flow(http)
    assert first.status_code == 200, first.text
    tokens = first.json()
    assert set(tokens) == {"accessToken", "refreshToken", "expiresIn"}
    me = (await GraphQLClient(http).data(ME, token=tokens["accessToken"]))["me"]
    assert me["email"] == f"olive-{subject}@example.com"
    assert me["displayName"] == "Olive Oidc"
    assert me["points"] == 1  # signup grant

    second = await run_flow(http)
    assert second.status_code == 200, second.text
    again = (await GraphQLClient(http).data(ME, token=second.json()["accessToken"]))["me"]
    assert again["id"] == me["id"]
    linked = await connection.scalar(
        select(func.count()).select_from(OAuthIdentity).where(OAuthIdentity.subject == subject)
    )
    assert linked == 1


async def test_verified_email_links_to_the_existing_member(
    http: httpx.AsyncClient, provider: LoopbackProvider
) -> None:
    client = GraphQLClient(http)
    member = await client.sign_up("existing")
    provider.identity = _identity(secrets.token_hex(8), member.email.upper())
    response = await run_flow(http)
    assert response.status_code == 200, response.text
    me = (await client.data(ME, token=response.json()["accessToken"]))["me"]
    assert me["id"] == member.id
    assert me["points"] == 1  # no second signup grant


async def test_unverified_email_neither_links_nor_creates(
    http: httpx.AsyncClient, provider: LoopbackProvider, connection: AsyncConnection
) -> None:
    member = await GraphQLClient(http).sign_up("victim")
    provider.identity = _identity(secrets.token_hex(8), member.email, verified=False)
    response = await run_flow(http)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    fresh = f"new-{secrets.token_hex(6)}@example.com"
    provider.identity = _identity(secrets.token_hex(8), fresh, verified=False)
    response = await run_flow(http)
    assert response.status_code == 403
    assert await connection.scalar(select(func.count()).select_from(User).where(User.email == fresh)) == 0


async def test_tampered_state_is_refused(http: httpx.AsyncClient, provider: LoopbackProvider) -> None:
    provider.identity = _identity(secrets.token_hex(8), f"s-{secrets.token_hex(6)}@example.com")
    response = await run_flow(http, state="attacker-chosen-state")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"


async def test_wrong_nonce_is_refused(http: httpx.AsyncClient, provider: LoopbackProvider) -> None:
    provider.identity = _identity(secrets.token_hex(8), f"n-{secrets.token_hex(6)}@example.com")
    provider.nonce_override = "replayed-nonce"
    try:
        response = await run_flow(http)
    finally:
        provider.nonce_override = None
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"


async def test_callback_without_the_flow_cookie_or_for_unknown_provider(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/auth/oidc/callback", params={"code": "x", "state": "y"})
    assert response.status_code == 401
    assert (await http.get("/auth/nope/login")).status_code == 404


async def test_blocked_member_cannot_sign_in_with_the_provider(
    http: httpx.AsyncClient, provider: LoopbackProvider, connection: AsyncConnection, clock: Clock
) -> None:
    member = await GraphQLClient(http).sign_up("blocked")
    await connection.execute(update(User).where(User.email == member.email).values(blocked_at=clock.now()))
    provider.identity = _identity(secrets.token_hex(8), member.email)
    response = await run_flow(http)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"


async def test_frontend_redirect_mode_puts_tokens_in_the_fragment(
    http: httpx.AsyncClient, provider: LoopbackProvider, oauth_app: Starlette
) -> None:
    settings = oauth_app.state.services.settings
    settings.oauth_frontend_url = "https://app.example/signed-in"
    try:
        provider.identity = _identity(secrets.token_hex(8), f"f-{secrets.token_hex(6)}@example.com")
        response = await run_flow(http)
        refused = await run_flow(http, state="tampered")
    finally:
        settings.oauth_frontend_url = None
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert (location.netloc, location.path, location.query) == ("app.example", "/signed-in", "")
    assert set(parse_qs(location.fragment)) == {"accessToken", "refreshToken", "expiresIn"}
    assert refused.headers["location"].endswith("#error=UNAUTHENTICATED")


async def test_discovery_and_keys_are_cached_and_refetched_after_key_rotation(
    http: httpx.AsyncClient, provider: LoopbackProvider
) -> None:
    provider.identity = _identity(secrets.token_hex(8), f"cache-{secrets.token_hex(4)}@example.com")
    assert (await run_flow(http)).status_code == 200
    before = dict(provider.fetches)
    for _ in range(2):
        assert (await run_flow(http)).status_code == 200
    assert provider.fetches == before  # both documents came from the cache
    original = provider.key
    provider.key = RSAKey.generate_key(2048, parameters={"kid": "rotated-key", "use": "sig"})
    try:
        rotated = await run_flow(http)
        assert rotated.status_code == 200, rotated.text
        assert provider.fetches["jwks"] == before["jwks"] + 1  # the new key set, fetched once
        assert provider.fetches["discovery"] == before["discovery"]
    finally:
        provider.key = original


class LoopbackGitHub:
    """GitHub's OAuth endpoints and the two REST calls the login makes, as GitHub Enterprise lays
    them out (`/login/oauth/...`, `/api/v3/...`)."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}
        self.tokens: set[str] = set()
        self.user: dict[str, Any] = {}
        self.emails: list[dict[str, Any]] = []

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/login/oauth/authorize", self.authorize),
                Route("/login/oauth/access_token", self.access_token, methods=["POST"]),
                Route("/api/v3/user", self.api_user),
                Route("/api/v3/user/emails", self.api_emails),
            ]
        )

    async def authorize(self, request: Request) -> Response:
        params = request.query_params
        assert params["client_id"] == CLIENT_ID
        assert params["scope"] == "read:user user:email"
        code = secrets.token_urlsafe(16)
        self.codes[code] = params["code_challenge"]
        query = urlencode({"code": code, "state": params["state"]})
        return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=302)

    async def access_token(self, request: Request) -> Response:
        form = await request.form()
        expected_auth = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        challenge = self.codes.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier", ""))
        computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
        if request.headers.get("authorization") != f"Basic {expected_auth}" or challenge != computed.decode():
            return JSONResponse({"error": "bad_verification_code"}, status_code=400)
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return JSONResponse({"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"})

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token in self.tokens

    async def api_user(self, request: Request) -> Response:
        if not self._authorized(request):
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return JSONResponse(self.user)

    async def api_emails(self, request: Request) -> Response:
        if not self._authorized(request):
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return JSONResponse(self.emails)


@pytest.fixture(scope="module")
async def github() -> AsyncIterator[tuple[LoopbackGitHub, str]]:
    server = LoopbackGitHub()
    port = _free_port()
    async with serving(server.app(), port):
        yield server, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
async def github_app(
    github: tuple[LoopbackGitHub, str], database_url: str, redis_url: str, clock: Clock
) -> AsyncIterator[Starlette]:
    _, base = github
    settings = make_settings(
        database_url,
        redis_url,
        public_base_url="http://testserver",
        github_client_id=CLIENT_ID,
        github_client_secret=CLIENT_SECRET,
        github_url=base,
        github_api_url=f"{base}/api/v3",
    )
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


async def github_flow(browser: httpx.AsyncClient) -> httpx.Response:
    start = await browser.get("/auth/github/login")
    assert start.status_code == 302
    async with httpx.AsyncClient() as outside:
        approved = await outside.get(start.headers["location"])
    assert approved.status_code == 302
    back = parse_qs(urlsplit(approved.headers["location"]).query)
    return await browser.get(
        "/auth/github/callback", params={"code": back["code"][0], "state": back["state"][0]}
    )


async def test_github_login_uses_the_verified_primary_email(
    github: tuple[LoopbackGitHub, str], github_app: Starlette, connection: AsyncConnection
) -> None:
    server, _ = github
    login = f"octo{secrets.token_hex(4)}"
    server.user = {"id": 583231, "login": login, "name": None}
    server.emails = [
        {"email": f"{login}@old.example.com", "primary": False, "verified": True},
        {"email": f"{login}@example.com", "primary": True, "verified": True},
    ]
    async with browser_of(github_app, connection) as browser:
        first = await github_flow(browser)
        assert first.status_code == 200, first.text
        me = (await GraphQLClient(browser).data(ME, token=first.json()["accessToken"]))["me"]
        assert me["email"] == f"{login}@example.com"
        assert me["displayName"] == login  # no name on the profile: the login
        again = await github_flow(browser)
        assert (await GraphQLClient(browser).data(ME, token=again.json()["accessToken"]))["me"]["id"] == me[
            "id"
        ]
        server.emails = [{"email": f"other-{login}@example.com", "primary": True, "verified": False}]
        server.user = {"id": 583232, "login": f"{login}-2", "name": "Second"}
        refused = await github_flow(browser)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "FORBIDDEN"
