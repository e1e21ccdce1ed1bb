"""Real servers on loopback for web push and Telegram: a push endpoint that checks the VAPID token
(RFC 8292) with the server's public key and decrypts the payload (RFC 8291) with the subscription's
private key, written here from the RFCs rather than with the libraries the server uses; and a bot
server speaking the Bot API subset the server uses (getMe, getUpdates, sendMessage)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import os
import struct
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.notifications.delivery_support import free_port


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_public(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


@dataclasses.dataclass
class Browser:
    """A user agent's push subscription keys (RFC 8291 section 2)."""

    key: ec.EllipticCurvePrivateKey = dataclasses.field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = dataclasses.field(default_factory=lambda: os.urandom(16))

    def keys(self) -> dict[str, str]:
        return {"p256dh": b64url(_raw_public(self.key)), "auth": b64url(self.auth)}

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8188 header (salt, rs, keyid = the sender's public key), then RFC 8291 section 3.4."""
        salt, (record_size,), id_length = body[:16], struct.unpack("!L", body[16:20]), body[20]
        sender = body[21 : 21 + id_length]
        ciphertext = body[21 + id_length :]
        assert len(ciphertext) <= record_size  # one record
        shared = self.key.exchange(
            ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender)
        )
        info = b"WebPush: info\x00" + _raw_public(self.key) + sender
        ikm = HKDF(hashes.SHA256(), 32, salt=self.auth, info=info).derive(shared)
        cek = HKDF(hashes.SHA256(), 16, salt=salt, info=b"Content-Encoding: aes128gcm\x00").derive(ikm)
        nonce = HKDF(hashes.SHA256(), 12, salt=salt, info=b"Content-Encoding: nonce\x00").derive(ikm)
        padded = AESGCM(cek).decrypt(nonce, ciphertext, None).rstrip(b"\x00")
        assert padded.endswith(b"\x02")  # the last record's delimiter
        return padded[:-1]


def vapid_keys() -> tuple[str, str]:
    """(public, private) in the settings' form: raw, base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(_raw_public(key)), b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def check_vapid(authorization: str, public_key: str, origin: str) -> dict[str, Any]:
    """The claims of a valid `vapid t=<jwt>, k=<key>` header (RFC 8292 sections 2-3), else AssertionError."""
    scheme, _, params = authorization.partition(" ")
    assert scheme.lower() == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == public_key
    header, claims, signature = fields["t"].split(".")
    assert json.loads(unb64url(header)) == {"typ": "JWT", "alg": "ES256"}
    raw = unb64url(signature)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(public_key))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises InvalidSignature
    decoded: dict[str, Any] = json.loads(unb64url(claims))
    assert decoded["aud"] == origin
    assert time.time() < decoded["exp"] <= time.time() + 24 * 3600
    assert decoded["sub"].startswith(("mailto:", "https://"))
    return decoded


@dataclasses.dataclass
class PushService:
    """What the push endpoint saw; `status_for(name)` decides each reply (201 by default)."""

    vapid_public_key: str
    origin: str = ""
    browsers: dict[str, Browser] = dataclasses.field(default_factory=dict)
    received: list[tuple[str, dict[str, Any]]] = dataclasses.field(default_factory=list)
    refused: list[str] = dataclasses.field(default_factory=list)
    status_for: Callable[[str], int] = lambda name: 201

    def subscription(self, name: str) -> dict[str, str]:
        """A new browser's subscription (GraphQL `PushSubscriptionInput`) at /push/<name>."""
        self.browsers[name] = Browser()
        return {"endpoint": f"{self.origin}/push/{name}", **self.browsers[name].keys()}

    async def endpoint(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            check_vapid(request.headers["authorization"], self.vapid_public_key, self.origin)
            assert request.headers["content-encoding"] == "aes128gcm"
            assert int(request.headers["ttl"]) > 0
            plaintext = self.browsers[name].decrypt(await request.body())
        except (AssertionError, InvalidSignature, KeyError, ValueError) as exc:
            self.refused.append(f"{name}: {exc!r}")
            return Response(status_code=403)
        self.received.append((name, json.loads(plaintext)))
        return Response(status_code=self.status_for(name))


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=5, lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def push_service(vapid_public_key: str) -> AsyncIterator[PushService]:
    service = PushService(vapid_public_key)
    app = Starlette(routes=[Route("/push/{name}", service.endpoint, methods=["POST"])])
    async with serving(app) as origin:
        service.origin = origin
        yield service


@dataclasses.dataclass
class BotApi:
    """A Telegram Bot API server for one bot: updates to hand out, messages sent, chats that blocked it."""

    token: str = "4242:test-secret"
    username: str = "mock_interview_bot"
    pending: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    offsets: list[int] = dataclasses.field(default_factory=list)
    sent: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    blocked: set[int] = dataclasses.field(default_factory=set)
    next_update_id: int = 1000

    def user_sends(self, chat_id: int, text: str) -> None:
        message = {
            "message_id": self.next_update_id,
            "chat": {"id": chat_id, "type": "private"},
            "text": text,
        }
        self.pending.append({"update_id": self.next_update_id, "message": message})
        self.next_update_id += 1

    async def method(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        body = await request.json()
        name = request.path_params["method"]
        if name == "getMe":
            return JSONResponse(
                {"ok": True, "result": {"id": 4242, "is_bot": True, "username": self.username}}
            )
        if name == "getUpdates":
            offset = int(body.get("offset", 0))
            self.offsets.append(offset)
            self.pending = [u for u in self.pending if u["update_id"] >= offset]  # earlier ones confirmed
            return JSONResponse({"ok": True, "result": self.pending[: int(body.get("limit", 100))]})
        if name == "sendMessage":
            if body["chat_id"] in self.blocked:
                error = {
                    "ok": False,
                    "error_code": 403,
                    "description": "Forbidden: bot was blocked by the user",
                }
                return JSONResponse(error, 403)
            self.sent.append((body["chat_id"], body["text"]))
            return JSONResponse({"ok": True, "result": {"message_id": len(self.sent)}})
        return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, 404)


@asynccontextmanager
async def bot_api() -> AsyncIterator[tuple[str, BotApi]]:
    """The Bot API on loopback: its base URL (TELEGRAM_API_URL) and state."""
    api = BotApi()
    app = Starlette(routes=[Route("/bot{token}/{method}", api.method, methods=["POST"])])
    async with serving(app) as url:
        yield url, api
