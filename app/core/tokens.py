"""Short-lived access JWTs (RFC 8725 rules) and opaque refresh tokens.

An access token names its session (RFC 9068 style `sid`: the refresh-token family it was minted for),
so that revoking the session ends its access tokens too (docs/trust.md, "Revocation").
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from app.core.settings import Settings

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 (a JWT "typ" value, not a secret)
# Signature-checked tokens remembered per process (about 1 KB each with their claims).
VERIFIED_TOKENS = 4096


class InvalidToken(Exception):
    """The presented access token is malformed, forged, expired or not an access token."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    issued_at: int
    session_id: uuid.UUID


class AccessTokens:
    """Signs and verifies access tokens; only HS256 is accepted (algorithm allowlist)."""

    def __init__(self, settings: Settings) -> None:
        self.key = OctKey.import_key(settings.resolved_secret_key().encode())
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.ttl = settings.access_token_ttl_seconds
        self._verified: dict[str, dict[str, Any]] = {}  # token -> claims, insertion-ordered

    def issue(self, user_id: int, now: datetime, session_id: uuid.UUID) -> str:
        """An access token for `user_id` in the session (refresh-token family) `session_id`."""
        issued = int(now.timestamp())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user_id),
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.ttl,
            "jti": uuid.uuid4().hex,
            "sid": str(session_id),
            "typ": "access",
        }
        header = {"alg": ALGORITHM, "typ": ACCESS_TOKEN_TYPE}
        return jwt.encode(header, claims, self.key, algorithms=[ALGORITHM])

    def verify(self, token: str, now: datetime) -> AccessClaims:
        try:
            claims = self._verified.get(token)
            if claims is None:
                claims = self._decode(token)
            registry = jwt.JWTClaimsRegistry(
                now=int(now.timestamp()),
                leeway=5,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.audience},
                exp={"essential": True},
                sub={"essential": True},
                # Tokens minted before sessions were named carry no `sid`: refused (they are short-lived).
                sid={"essential": True},
                typ={"essential": True, "value": "access"},
            )
            registry.validate(claims)
            return AccessClaims(
                user_id=int(claims["sub"]),
                issued_at=int(claims["iat"]),
                session_id=uuid.UUID(str(claims["sid"])),
            )
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise InvalidToken(str(exc)) from exc

    def _decode(self, token: str) -> dict[str, Any]:
        """The claims of a token whose signature and header check out. Remembered: a client sends the
        same token with every request, and only the time-dependent claims need checking again."""
        decoded = jwt.decode(token, self.key, algorithms=[ALGORITHM])
        if decoded.header.get("typ") != ACCESS_TOKEN_TYPE:
            raise InvalidToken("not an access token")
        claims: dict[str, Any] = decoded.claims
        self._verified[token] = claims
        if len(self._verified) > VERIFIED_TOKENS:
            del self._verified[next(iter(self._verified))]  # the oldest
        return claims


def new_refresh_token() -> str:
    """A fresh opaque refresh token; only its hash is stored."""
    return "rt_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
