"""OAuth 2 / OpenID Connect login: GET /auth/{provider}/login and GET /auth/{provider}/callback.

Authorization code flow with PKCE (S256), `state` and `nonce`. The verifier, state and nonce live in a
short-lived, HMAC-signed, HttpOnly cookie scoped to `/auth/{provider}` (nothing to store server-side,
and the flow is bound to the browser that started it). ID tokens are verified with joserfc against the
provider's JWKS (iss, aud, exp, nonce). The result is the same token pair as `logIn`: JSON
`{accessToken, refreshToken, expiresIn}`, or, with OAUTH_FRONTEND_URL set, a redirect to that URL with
`#accessToken=...&refreshToken=...&expiresIn=...` (errors as `#error=CODE`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import authlib.deprecate  # noqa: F401  (installs its "always" filter before ours)
import httpx
from authlib.common.errors import AuthlibBaseError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from app.core.errors import AppError, BadUserInput, Forbidden, NotFound, Unauthenticated
from app.core.settings import Settings
from app.http.oauth_documents import DocumentCache
from app.http.unit_of_work import open_unit_of_work
from resolvers.accounts.oauth import ExternalIdentity, sign_in_external
from resolvers.unit_of_work import Services

with warnings.catch_warnings():
    # authlib 1.9 prefers the `httpx2` fork and warns when it falls back to httpx (which works).
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client

FLOW_TTL_SECONDS = 600
ID_TOKEN_ALGORITHMS = ["RS256", "PS256", "ES256"]
GOOGLE_DISCOVERY = "https://accounts.google.com/.well-known/openid-configuration"
HTTP_TIMEOUT = 10.0
DOCUMENTS = DocumentCache()  # discovery documents and key sets, per URL, for the process


@dataclass(frozen=True)
class Provider:
    name: str
    client_id: str
    client_secret: str | None
    scope: str
    discovery_url: str | None = None  # OpenID Connect providers
    issuer: str | None = None
    authorize_url: str | None = None  # plain OAuth 2 (GitHub)
    token_url: str | None = None
    api_url: str | None = None  # GitHub's REST API (user and emails)

    @property
    def is_oidc(self) -> bool:
        return self.discovery_url is not None


def configured_providers(settings: Settings) -> dict[str, Provider]:
    """Providers whose client id is set."""
    providers: dict[str, Provider] = {}
    if settings.github_client_id:
        providers["github"] = Provider(
            "github",
            settings.github_client_id,
            settings.github_client_secret,
            "read:user user:email",
            authorize_url=f"{settings.github_url.rstrip('/')}/login/oauth/authorize",
            token_url=f"{settings.github_url.rstrip('/')}/login/oauth/access_token",
            api_url=settings.github_api_url.rstrip("/"),
        )
    if settings.google_client_id:
        providers["google"] = Provider(
            "google",
            settings.google_client_id,
            settings.google_client_secret,
            "openid email profile",
            discovery_url=GOOGLE_DISCOVERY,
            issuer="https://accounts.google.com",
        )
    if settings.oidc_client_id and (settings.oidc_discovery_url or settings.oidc_issuer):
        issuer = settings.oidc_issuer.rstrip("/") if settings.oidc_issuer else None
        providers["oidc"] = Provider(
            "oidc",
            settings.oidc_client_id,
            settings.oidc_client_secret,
            "openid email profile",
            discovery_url=settings.oidc_discovery_url or f"{issuer}/.well-known/openid-configuration",
            issuer=issuer,
        )
    return providers


def redirect_uri(settings: Settings, provider: str) -> str:
    """The exact redirect URI to register with the provider."""
    return f"{settings.public_base_url.rstrip('/')}/auth/{provider}/callback"


def _flow_key(settings: Settings) -> OctKey:
    # A key derived for this purpose only, so a flow cookie can never pass as an access token.
    secret = settings.resolved_secret_key().encode()
    return OctKey.import_key(hmac.new(secret, b"oauth-flow-cookie", hashlib.sha256).digest())


def _cookie_name(provider: str) -> str:
    return f"mi_oauth_{provider}"


async def _get_json(http: httpx.AsyncClient, url: str, **kwargs: Any) -> dict[str, Any]:
    if isinstance(http, AsyncOAuth2Client):
        # Public documents: no bearer token needed (or yet held).
        response = await http.request("GET", url, withhold_token=True, **kwargs)
    else:
        response = await http.get(url, **kwargs)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


async def _metadata(http: httpx.AsyncClient, provider: Provider) -> dict[str, Any]:
    url = provider.discovery_url
    assert url is not None
    metadata, _ = await DOCUMENTS.get(lambda u: _get_json(http, u), url)
    if provider.issuer is not None and metadata.get("issuer", "").rstrip("/") != provider.issuer:
        DOCUMENTS.forget(url)
        raise Unauthenticated("The provider's discovery document names another issuer.")
    return metadata


async def login(request: Request) -> Response:
    """Start the flow: remember state/nonce/verifier in a signed cookie and redirect to the provider."""
    state: Services = request.app.state.services
    settings = state.settings
    provider = configured_providers(settings).get(request.path_params["provider"])
    if provider is None:
        return _error(settings, NotFound("Unknown login provider."), 404)
    flow = {
        "provider": provider.name,
        "state": secrets.token_urlsafe(32),
        "nonce": secrets.token_urlsafe(32),
        "verifier": secrets.token_urlsafe(64),
        "exp": int(time.time()) + FLOW_TTL_SECONDS,
    }
    async with _client(provider, settings) as client:
        if provider.is_oidc:
            authorize_url = (await _metadata(client, provider))["authorization_endpoint"]
        else:
            authorize_url = provider.authorize_url
        extra = {"nonce": flow["nonce"]} if provider.is_oidc else {}
        url, _ = client.create_authorization_url(
            authorize_url, state=flow["state"], code_verifier=flow["verifier"], **extra
        )
    cookie = jwt.encode({"alg": "HS256"}, flow, _flow_key(settings), algorithms=["HS256"])
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        _cookie_name(provider.name),
        cookie,
        max_age=FLOW_TTL_SECONDS,
        path=f"/auth/{provider.name}",
        httponly=True,
        secure=settings.public_base_url.startswith("https://"),
        samesite="lax",
    )
    return response


def _client(provider: Provider, settings: Settings) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        scope=provider.scope,
        redirect_uri=redirect_uri(settings, provider.name),
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT,
    )


def _read_flow(request: Request, settings: Settings, provider: Provider) -> dict[str, Any]:
    raw = request.cookies.get(_cookie_name(provider.name))
    if not raw:
        raise Unauthenticated("The login flow expired or was started elsewhere; start again.")
    try:
        flow = dict(jwt.decode(raw, _flow_key(settings), algorithms=["HS256"]).claims)
        jwt.JWTClaimsRegistry(exp={"essential": True}).validate(flow)
    except (JoseError, ValueError) as exc:
        raise Unauthenticated("The login flow expired or was tampered with.") from exc
    given = request.query_params.get("state", "")
    if flow.get("provider") != provider.name or not hmac.compare_digest(str(flow.get("state", "")), given):
        raise Unauthenticated("The login state does not match.")
    return flow


async def _verify_id_token(
    client: httpx.AsyncClient, provider: Provider, metadata: dict[str, Any], token: str, nonce: str
) -> dict[str, Any]:
    async def fetch(url: str) -> dict[str, Any]:
        return await _get_json(client, url)

    keys, fetched = await DOCUMENTS.get(fetch, metadata["jwks_uri"])
    try:
        return _id_token_claims(provider, metadata, keys, token, nonce)
    except Unauthenticated:
        if fetched:
            raise
    # Signed with a key the cached set lacks (the provider rotated its keys): fetch the set once more.
    keys, _ = await DOCUMENTS.get(fetch, metadata["jwks_uri"], fresh=True)
    return _id_token_claims(provider, metadata, keys, token, nonce)


def _id_token_claims(
    provider: Provider, metadata: dict[str, Any], keys: dict[str, Any], token: str, nonce: str
) -> dict[str, Any]:
    try:
        jwks = KeySet.import_key_set(keys)  # type: ignore[arg-type]
        decoded = jwt.decode(token, jwks, algorithms=ID_TOKEN_ALGORITHMS)
        claims = dict(decoded.claims)
        jwt.JWTClaimsRegistry(
            now=int(time.time()),
            leeway=60,
            iss={"essential": True, "value": metadata["issuer"]},
            aud={"essential": True, "value": provider.client_id},
            exp={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(claims)
    except (JoseError, ValueError, KeyError) as exc:
        raise Unauthenticated("The provider's ID token is invalid.") from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != provider.client_id:
        raise Unauthenticated("The provider's ID token is invalid.")
    return claims


async def _identity(
    client: AsyncOAuth2Client, provider: Provider, code: str, flow: dict[str, Any]
) -> ExternalIdentity:
    if provider.is_oidc:
        metadata = await _metadata(client, provider)
        token = await client.fetch_token(
            metadata["token_endpoint"], code=code, code_verifier=flow["verifier"]
        )
        if "id_token" not in token:
            raise Unauthenticated("The provider returned no ID token.")
        claims = await _verify_id_token(client, provider, metadata, token["id_token"], flow["nonce"])
        return ExternalIdentity(
            provider=provider.name,
            subject=str(claims["sub"]),
            email=claims.get("email"),
            email_verified=claims.get("email_verified") is True,
            name=claims.get("name") or claims.get("preferred_username"),
        )
    assert provider.token_url is not None
    await client.fetch_token(provider.token_url, code=code, code_verifier=flow["verifier"])
    user = (await client.get(f"{provider.api_url}/user")).json()
    emails = (await client.get(f"{provider.api_url}/user/emails")).json()
    primary = next((e for e in emails if e.get("primary") and e.get("verified")), None)
    return ExternalIdentity(
        provider=provider.name,
        subject=str(user["id"]),
        email=primary["email"] if primary else None,
        email_verified=primary is not None,
        name=user.get("name") or user.get("login"),
    )


async def callback(request: Request) -> Response:
    """Finish the flow: check state, exchange the code, verify the ID token, sign the member in."""
    state: Services = request.app.state.services
    settings = state.settings
    provider = configured_providers(settings).get(request.path_params["provider"])
    if provider is None:
        return _error(settings, NotFound("Unknown login provider."), 404)
    uow = open_unit_of_work(request)
    try:
        flow = _read_flow(request, settings, provider)
        if "error" in request.query_params:
            raise Forbidden("The provider refused the login.")
        code = request.query_params.get("code")
        if not code:
            raise BadUserInput("Missing `code`.", field="code")
        async with _client(provider, settings) as client:
            try:
                identity = await _identity(client, provider, code, flow)
            except (AuthlibBaseError, httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                # A refused code, an unreachable provider or a malformed answer: no login.
                raise Unauthenticated("The provider did not complete the login.") from exc
        tokens = await sign_in_external(uow, identity)
    except AppError as error:
        status = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "RATE_LIMITED": 429}.get(error.code, 400)
        return _clear(_error(settings, error, status), provider.name)
    finally:
        await uow.close()
    body = {
        "accessToken": tokens.access_token,
        "refreshToken": tokens.refresh_token,
        "expiresIn": tokens.expires_in,
    }
    if settings.oauth_frontend_url:
        response: Response = RedirectResponse(
            f"{settings.oauth_frontend_url}#{urlencode(body)}", status_code=302
        )
    else:
        response = JSONResponse(body, headers={"Cache-Control": "no-store"})
    return _clear(response, provider.name)


def _error(settings: Settings, error: AppError, status: int) -> Response:
    if settings.oauth_frontend_url:
        return RedirectResponse(f"{settings.oauth_frontend_url}#error={error.code}", status_code=302)
    return JSONResponse({"error": {"message": error.message, **error.extensions}}, status_code=status)


def _clear(response: Response, provider: str) -> Response:
    response.delete_cookie(_cookie_name(provider), path=f"/auth/{provider}")
    return response


def oauth_routes() -> list[Route]:
    """The login and callback routes, for the app factory."""
    return [
        Route("/auth/{provider}/login", login, methods=["GET"]),
        Route("/auth/{provider}/callback", callback, methods=["GET"]),
    ]
