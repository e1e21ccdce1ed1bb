"""Helpers of the upload tests: tiny valid images and PDFs, a multipart upload, error codes."""

from __future__ import annotations

import contextlib
import json
import struct
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from starlette.applications import Starlette

from app.core.clock import Clock
from app.core.settings import Settings
from app.http.factory import create_app
from resolvers.unit_of_work import Services

AVATAR = "mutation($f: Upload!) { uploadAvatar(file: $f) { id url width height contentType sizeBytes } }"
RESUME = "mutation($f: Upload!) { uploadResume(file: $f) { id url contentType } }"
RESUME_OF = "query($u: ID!) { resume(userId: $u) { url } }"
AVATAR_OF = "query($u: ID!) { avatar(userId: $u) { url } }"


def png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    body = struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return b"\x89PNG\r\n\x1a\n" + body + b"\x00\x00\x00\x00IEND\xaeB`\x82"


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00" * 3
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def webp(width: int, height: int) -> bytes:
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00" * 4
    vp8x += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def upload(
    http: httpx.AsyncClient,
    query: str,
    data: bytes,
    *,
    token: str | None = None,
    preflight: bool = True,
    name: str = "file.bin",
) -> httpx.Response:
    operations = json.dumps({"query": query, "variables": {"f": None}})
    headers = {"GraphQL-Require-Preflight": "1"} if preflight else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await http.post(
        "/graphql",
        data={"operations": operations, "map": json.dumps({"0": ["variables.f"]})},
        files={"0": (name, data, "application/octet-stream")},
        headers=headers,
    )


def code(response: httpx.Response) -> str:
    body: dict[str, Any] = response.json()
    assert body.get("errors"), body
    result: str = body["errors"][0]["extensions"]["code"]
    return result


@contextlib.asynccontextmanager
async def running_app(settings: Settings, clock: Clock) -> AsyncIterator[Starlette]:
    """An app with `settings`, its lifespan running."""
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@contextlib.asynccontextmanager
async def transactional_client(
    application: Starlette, connection: AsyncConnection
) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP through `application` whose sessions join the test's rolled-back transaction."""
    state: Services = application.state.services
    original = state.sessionmaker
    state.sessionmaker = async_sessionmaker(
        bind=connection, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
    )
    transport = httpx.ASGITransport(app=application, client=("192.0.2.44", 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        state.sessionmaker = original


def app_services(application: Starlette) -> Services:
    services: Services = application.state.services
    return services


@contextlib.contextmanager
def files_key(application: Starlette, text: str) -> Iterator[None]:
    """The app reads files with FILES_ENCRYPTION_KEY=`text` for a while (as after a restart)."""
    services = app_services(application)
    original = services.settings
    services.settings = original.model_copy(update={"files_encryption_key": text})
    try:
        yield
    finally:
        services.settings = original
