"""Links that carry their own proof: `<payload>.<HMAC-SHA256 of it>` under the server's secret key
(one-click unsubscribe URLs in emails need no session)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, purpose: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), f"{purpose}:{payload}".encode(), hashlib.sha256).digest())


def sign(secret: str, purpose: str, payload: str) -> str:
    """A URL-safe token for `payload`, valid only for `purpose`."""
    return f"{_b64(payload.encode())}.{_mac(secret, purpose, payload)}"


def verify(secret: str, purpose: str, token: str) -> str | None:
    """The payload of a token signed for `purpose`, or None when it is malformed or forged."""
    encoded, _, mac = token.partition(".")
    try:
        payload = _unb64(encoded).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not mac or not hmac.compare_digest(_mac(secret, purpose, payload), mac):
        return None
    return payload
