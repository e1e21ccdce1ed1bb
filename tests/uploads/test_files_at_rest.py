"""Uploads encrypted at rest: what the storage holds is sealed (AES-256-GCM, a data key per file wrapped
by FILES_ENCRYPTION_KEY), files are served decrypted, files stored before encryption still work, and
rotating the files key re-wraps data keys without touching the files."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette.applications import Starlette

from app.core.file_crypto import MAGIC, FilesKey, generate_files_key
from app.core.settings import Settings, SettingsError
from app.core.storage import LocalStorage, new_key
from db.models import Upload
from resolvers import uploads
from resolvers.unit_of_work import UnitOfWork
from tests.conftest import TEST_SECRET
from tests.helpers import GraphQLClient, db_id
from tests.process import ROOT
from tests.uploads.support import AVATAR, PDF, RESUME, app_services, files_key, png, upload

SEAL_OVERHEAD = len(MAGIC) + 12 + 16  # header, nonce, GCM tag


async def _row(connection: AsyncConnection, url: str) -> Upload:
    key = url.rsplit("/", 1)[1]
    async with AsyncSession(bind=connection, join_transaction_mode="create_savepoint") as session:
        row = (await session.execute(select(Upload).where(Upload.storage_key == key))).scalar_one()
        return row


async def _uploaded(http: httpx.AsyncClient, query: str, data: bytes, name: str) -> tuple[str, str]:
    """(token, url) of a new member's upload."""
    member = await GraphQLClient(http).sign_up(name)
    body = (await upload(http, query, data, token=member.access_token)).json()
    assert not body.get("errors"), body
    field = "uploadAvatar" if query == AVATAR else "uploadResume"
    return member.access_token, body["data"][field]["url"]


async def test_stored_bytes_are_sealed_and_served_in_clear(
    http: httpx.AsyncClient, upload_app: Starlette, connection: AsyncConnection
) -> None:
    token, url = await _uploaded(http, RESUME, PDF, "sealed")
    row = await _row(connection, url)
    settings = app_services(upload_app).settings
    assert row.key_id == settings.resolved_files_key().key_id
    assert row.wrapped_key is not None
    assert len(row.wrapped_key) == 40  # a 32-byte data key under AES key wrap
    stored = (settings.data_dir / "uploads" / row.storage_key).read_bytes()
    assert stored.startswith(MAGIC)
    assert len(stored) == len(PDF) + SEAL_OVERHEAD
    assert b"%PDF" not in stored
    assert b"Catalog" not in stored
    served = await http.get(url, headers={"Authorization": f"Bearer {token}"})
    assert served.status_code == 200
    assert served.content == PDF
    assert int(served.headers["content-length"]) == len(PDF)


async def test_files_stored_before_encryption_are_served_as_stored(
    http: httpx.AsyncClient, upload_app: Starlette, connection: AsyncConnection
) -> None:
    member = await GraphQLClient(http).sign_up("legacy")
    key = new_key("png")
    image = png(12, 12)
    await LocalStorage(app_services(upload_app).settings.data_dir / "uploads").save(key, image)
    async with AsyncSession(bind=connection, join_transaction_mode="create_savepoint") as session:
        session.add(
            Upload(
                owner_id=db_id(member.id),
                kind="AVATAR",
                storage_key=key,
                content_type="image/png",
                size_bytes=len(image),
                width=12,
                height=12,
            )
        )
        await session.commit()  # into the test's transaction
    served = await http.get(f"/files/{key}")
    assert served.status_code == 200
    assert served.content == image


async def test_damaged_or_swapped_files_are_not_served(
    http: httpx.AsyncClient, upload_app: Starlette, connection: AsyncConnection
) -> None:
    _, first = await _uploaded(http, AVATAR, png(20, 20), "first")
    _, second = await _uploaded(http, AVATAR, png(21, 21), "second")
    directory = app_services(upload_app).settings.data_dir / "uploads"
    first_path = directory / (await _row(connection, first)).storage_key
    second_path = directory / (await _row(connection, second)).storage_key
    # Another file's sealed bytes under this name: its data key and name do not fit them.
    first_path.write_bytes(second_path.read_bytes())
    refused = await http.get(first)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "UNAVAILABLE"
    sealed = bytearray(second_path.read_bytes())
    sealed[-1] ^= 1  # one bit of the tag
    second_path.write_bytes(bytes(sealed))
    assert (await http.get(second)).status_code == 503


async def test_rotation_rewraps_data_keys_and_the_old_key_stops_working(
    http: httpx.AsyncClient, upload_app: Starlette, connection: AsyncConnection
) -> None:
    image = png(30, 30)
    _, url = await _uploaded(http, AVATAR, image, "rotated")
    services = app_services(upload_app)
    old = services.settings.resolved_files_key()
    new_text = generate_files_key()
    new = FilesKey.parse(new_text)
    before = await _row(connection, url)
    stored = (services.settings.data_dir / "uploads" / before.storage_key).read_bytes()

    uow = UnitOfWork.open(services)
    try:
        rotation = await uploads.rotate_files_key(uow, old, new, batch=2)
        again = await uploads.rotate_files_key(uow, old, new, batch=2)  # resumes: nothing left
    finally:
        await uow.close()
    assert rotation.rewrapped >= 1
    assert rotation.foreign == 0
    assert (again.rewrapped, again.already) == (0, rotation.rewrapped + rotation.already)
    after = await _row(connection, url)
    assert after.key_id == new.key_id != before.key_id
    assert after.wrapped_key != before.wrapped_key
    # The file itself was not re-encrypted.
    assert (services.settings.data_dir / "uploads" / after.storage_key).read_bytes() == stored

    assert (await http.get(url)).status_code == 503  # still on the old key
    with files_key(upload_app, new_text):
        served = await http.get(url)
    assert served.status_code == 200
    assert served.content == image


def test_production_requires_a_files_key_and_development_generates_one(tmp_path: Path) -> None:
    production = Settings(app_env="production", secret_key=TEST_SECRET, data_dir=tmp_path)
    with pytest.raises(SettingsError, match="FILES_ENCRYPTION_KEY must be set"):
        production.resolved_files_key()
    assert not (tmp_path / "files_key").exists()  # no default written either
    for bad in ("not base64!", "c2hvcnQ=", "A" * 60):
        with pytest.raises(SettingsError, match="FILES_ENCRYPTION_KEY"):
            Settings(files_encryption_key=bad)
    given = base64.b64encode(os.urandom(32)).decode()  # `openssl rand -base64 32` spelling
    configured = Settings(app_env="production", secret_key=TEST_SECRET, files_encryption_key=given)
    assert configured.resolved_files_key() == FilesKey(base64.b64decode(given))
    development = Settings(data_dir=tmp_path)
    key = development.resolved_files_key()
    assert Settings(data_dir=tmp_path).resolved_files_key() == key  # kept, not regenerated
    assert (tmp_path / "files_key").stat().st_mode & 0o777 == 0o600
    assert str(key.material) not in repr(key)


def test_serve_refuses_production_without_a_files_key(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli.commands", "serve", "--port", "1"],
        cwd=ROOT,
        env={
            **os.environ,
            "APP_ENV": "production",
            "SECRET_KEY": TEST_SECRET,
            "FILES_ENCRYPTION_KEY": "",
            "DATA_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "FILES_ENCRYPTION_KEY must be set" in result.stderr
    assert not any(tmp_path.iterdir())  # refused before creating a database or a key
