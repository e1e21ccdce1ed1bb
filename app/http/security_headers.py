"""Security headers on every HTTP response (docs/trust.md, "The HTTP surface").

Added unless the route set its own: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
`Content-Security-Policy: default-src 'none'; frame-ancestors 'none'` (the API answers JSON; GraphiQL
and files set their own policy), and `Cache-Control: no-store`. Forced, whatever the route set:
`Cache-Control: private, no-store` on the reply to a request carrying credentials (`Authorization`,
`X-API-Key`), and `no-store` on the reply to any other POST (so every mutation: signUp, logIn,
refreshTokens...) and to any mutation; an anonymous GET (a board query a shared cache may keep)
keeps the `Cache-Control` its route chose.

`Strict-Transport-Security` when the request came over HTTPS: the ASGI scheme (uvicorn sets it from
`X-Forwarded-Proto` for trusted proxies) or `X-Forwarded-Proto: https` itself (browsers ignore the
header on plain HTTP, so a client faking it gains nothing).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CSP = b"default-src 'none'; frame-ancestors 'none'"
NO_STORE = b"no-store"
PRIVATE_NO_STORE = b"private, no-store"
DEFAULTS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", API_CSP),
    (b"cache-control", NO_STORE),
)
CREDENTIAL_HEADERS = frozenset({b"authorization", b"x-api-key"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _over_https(scope: Scope) -> bool:
    if scope.get("scheme") in ("https", "wss"):
        return True
    for name, value in scope["headers"]:
        if name == b"x-forwarded-proto":
            # The client's hop comes first: "https, http" is HTTPS at the edge.
            return bool(value.split(b",")[0].strip().lower() == b"https")
    return False


def forced_cache_control(scope: Scope) -> bytes | None:
    """The `Cache-Control` a reply must carry whatever its route set, or None to keep the route's."""
    if any(name in CREDENTIAL_HEADERS for name, _ in scope["headers"]):
        return PRIVATE_NO_STORE
    if scope["method"] not in SAFE_METHODS:
        return NO_STORE
    if (scope.get("state") or {}).get("operation_type") == "mutation":
        return NO_STORE
    return None


def secured_headers(
    headers: list[tuple[bytes, bytes]], *, cache_control: bytes | None, hsts: bytes | None
) -> list[tuple[bytes, bytes]]:
    """`headers` with the defaults added where missing, `cache_control` (when forced) and `hsts`."""
    result = [(k, v) for k, v in headers if cache_control is None or k.lower() != b"cache-control"]
    if cache_control is not None:
        result.append((b"cache-control", cache_control))
    present = {k.lower() for k, _ in result}
    result += [(k, v) for k, v in DEFAULTS if k not in present]
    if hsts is not None and b"strict-transport-security" not in present:
        result.append((b"strict-transport-security", hsts))
    return result


class SecurityHeaders:
    """Adds the headers above to every HTTP response (websockets pass through)."""

    def __init__(self, app: ASGIApp, hsts_max_age_seconds: int) -> None:
        self.app = app
        self.hsts = f"max-age={hsts_max_age_seconds}".encode() if hsts_max_age_seconds > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hsts = self.hsts if self.hsts is not None and _over_https(scope) else None

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Decided at response time: the operation type is known once the view has run.
                message["headers"] = secured_headers(
                    list(message.get("headers", [])), cache_control=forced_cache_control(scope), hsts=hsts
                )
            await send(message)

        await self.app(scope, receive, send_secured)
