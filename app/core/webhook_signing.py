"""Signatures of webhook deliveries: HMAC-SHA256 over the timestamp and the body.

A receiver recomputes `hex(HMAC-SHA256(secret, f"{timestamp}.{body}"))` from the `Webhook-Timestamp`
header and the raw body, compares it with `Webhook-Signature` (`v1=<hex>`) in constant time, and
refuses timestamps older than a few minutes (replays). `Webhook-Id` names the delivery: the same id
twice is the same event (at-least-once: see docs/notifications.md).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Webhook-Signature"
TIMESTAMP_HEADER = "Webhook-Timestamp"
ID_HEADER = "Webhook-Id"
EVENT_HEADER = "Webhook-Event"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`v1=<hex digest>` for this timestamp and body."""
    signed = str(timestamp).encode() + b"." + body
    return "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: int, body: bytes, received: str) -> bool:
    """True when `received` is the signature of this timestamp and body (constant-time compare)."""
    return hmac.compare_digest(signature(secret, timestamp, body), received)


def signed_headers(
    secret: str, timestamp: int, body: bytes, *, delivery_id: int, event: str
) -> dict[str, str]:
    """The headers of one delivery's POST."""
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        TIMESTAMP_HEADER: str(timestamp),
        ID_HEADER: str(delivery_id),
        EVENT_HEADER: event,
    }
