"""Web push primitives: subscription keys, message encryption (RFC 8291, `aes128gcm` of RFC 8188,
through http-ece) and the VAPID `Authorization` header (RFC 8292, through py-vapid)."""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02, VapidException

# RFC 8291 section 4: a push service may refuse bodies over 4096 octets; aes128gcm with one record adds
# 86 (header with the 65-octet key id, padding delimiter, tag).
MAX_PLAINTEXT_BYTES = 4096 - 86
TOKEN_LIFETIME_SECONDS = 12 * 3600  # RFC 8292 section 2: at most 24 hours


class WebPushKeyError(ValueError):
    """Keys that are not what RFC 8291 / RFC 8292 require."""


def b64url_decode(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise WebPushKeyError("not base64url") from exc


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class SubscriptionKeys:
    """The user agent's P-256 public key (65-octet uncompressed point) and 16-octet auth secret."""

    p256dh: bytes
    auth: bytes


def subscription_keys(p256dh: str, auth: str) -> SubscriptionKeys:
    """Decode and check a subscription's keys as a browser's `PushSubscription.toJSON()` gives them."""
    public, secret = b64url_decode(p256dh), b64url_decode(auth)
    if len(secret) != 16:
        raise WebPushKeyError("auth must be 16 octets")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)
    except ValueError as exc:
        raise WebPushKeyError("p256dh must be an uncompressed P-256 point") from exc
    if len(public) != 65:
        raise WebPushKeyError("p256dh must be an uncompressed P-256 point")
    return SubscriptionKeys(public, secret)


def encrypt(plaintext: bytes, keys: SubscriptionKeys) -> bytes:
    """The message body: a fresh sender key pair and salt per message (RFC 8291 section 3)."""
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise ValueError("push payload too large")
    sender = ec.generate_private_key(ec.SECP256R1())
    body: bytes = http_ece.encrypt(
        plaintext,
        salt=os.urandom(16),
        private_key=sender,
        dh=keys.p256dh,
        auth_secret=keys.auth,
        version="aes128gcm",
    )
    return body


class Vapid:
    """The application server's identity (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, VAPID_SUBJECT)."""

    def __init__(self, public_key: str, private_key: str, subject: str) -> None:
        try:
            self._signer = Vapid02.from_string(private_key)
        except (VapidException, ValueError, binascii.Error) as exc:
            raise WebPushKeyError("VAPID_PRIVATE_KEY is not a P-256 private key (raw base64url)") from exc
        derived = self._signer.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        if b64url_decode(public_key) != derived:
            raise WebPushKeyError("VAPID_PUBLIC_KEY is not the public key of VAPID_PRIVATE_KEY")
        if not subject.startswith(("mailto:", "https://")):
            raise WebPushKeyError("VAPID_SUBJECT must be a mailto: or https: URI")
        self.public_key = public_key
        self._subject = subject

    def authorization(self, endpoint: str, now: int) -> str:
        """`vapid t=<JWT>, k=<public key>` for a request to `endpoint` (audience: its origin)."""
        parts = urlsplit(endpoint)
        claims = {"aud": f"{parts.scheme}://{parts.netloc}", "exp": now + TOKEN_LIFETIME_SECONDS}
        claims["sub"] = self._subject
        header: str = self._signer.sign(claims)["Authorization"]
        return header


def generate_vapid_keys() -> tuple[str, str]:
    """(public, private) in the settings' form: raw points, base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url_encode(public), b64url_encode(key.private_numbers().private_value.to_bytes(32, "big"))
