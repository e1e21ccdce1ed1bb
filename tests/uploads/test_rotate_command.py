"""`mockinterview rotate-files-key` on a database of its own: data keys move to the new key (the old one
then stops working), a second run finds nothing left, keys wrapped by a third key are reported, and
development's generated key file follows the rotation."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.core.clock import Clock
from app.core.file_crypto import generate_files_key
from db.migrate import upgrade
from tests import infra
from tests.conftest import make_settings
from tests.helpers import GraphQLClient
from tests.process import ROOT
from tests.uploads.support import AVATAR, files_key, png, running_app, upload


@pytest.fixture(scope="module")
async def own_database(postgres_server: str) -> AsyncIterator[str]:
    """Committed rows the command (another process) can see, in a database dropped afterwards."""
    name = infra.fresh_database_name()
    url = await infra.create_database(postgres_server, name)
    await asyncio.to_thread(upgrade, url)
    yield url
    await infra.drop_database(postgres_server, name)


def _rotate(database_url: str, data_dir: Path, current: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"DATABASE_URL": database_url, "REDIS_URL": "", "DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "app.cli.commands", "rotate-files-key", *args],
        cwd=ROOT,
        env={**os.environ, **env, "APP_ENV": "development", "FILES_ENCRYPTION_KEY": current},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_rotate_files_key_command(
    own_database: str, redis_url: str, clock: Clock, tmp_path: Path
) -> None:
    old, new = generate_files_key(), generate_files_key()
    settings = make_settings(own_database, redis_url, data_dir=tmp_path / "data", files_encryption_key=old)
    async with running_app(settings, clock) as application:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            member = await GraphQLClient(http).sign_up("rotate")
            body = (await upload(http, AVATAR, png(40, 40), token=member.access_token)).json()
            url = body["data"]["uploadAvatar"]["url"]
            assert (await http.get(url)).status_code == 200

            (tmp_path / "new.key").write_text(new + "\n")
            first = await asyncio.to_thread(
                _rotate, own_database, tmp_path, old, "--new-key-file", str(tmp_path / "new.key")
            )
            assert first.returncode == 0, first.stderr
            assert "re-wrapped 1 data keys (0 were under the new key already)" in first.stdout
            assert "set FILES_ENCRYPTION_KEY to the new key" in first.stdout
            assert (await http.get(url)).status_code == 503  # this instance still has the old key
            with files_key(application, new):
                assert (await http.get(url)).content == png(40, 40)

            second = await asyncio.to_thread(_rotate, own_database, tmp_path, old, f"--new-key={new}")
            assert second.returncode == 0, second.stderr
            assert "re-wrapped 0 data keys (1 were under the new key already)" in second.stdout

            third, fourth = generate_files_key(), generate_files_key()
            stranger = await asyncio.to_thread(_rotate, own_database, tmp_path, third, f"--new-key={fourth}")
            assert stranger.returncode == 1
            assert "1 data keys are wrapped by neither key" in stranger.stderr

            # Development: no FILES_ENCRYPTION_KEY, the generated key in DATA_DIR/files_key.
            development = tmp_path / "development"
            development.mkdir()
            (development / "files_key").write_text(new)
            latest = generate_files_key()
            moved = await asyncio.to_thread(_rotate, own_database, development, "", f"--new-key={latest}")
            assert moved.returncode == 0, moved.stderr
            assert (development / "files_key").read_text() == latest
            assert (development / "files_key").stat().st_mode & 0o777 == 0o600
            with files_key(application, latest):
                assert (await http.get(url)).status_code == 200


def test_rotate_files_key_refuses_bad_keys(tmp_path: Path) -> None:
    current = generate_files_key()
    same = _rotate("postgresql://unused@127.0.0.1:1/none", tmp_path, current, f"--new-key={current}")
    assert same.returncode == 2
    assert "the new key is the current key" in same.stderr
    short = _rotate("postgresql://unused@127.0.0.1:1/none", tmp_path, current, "--new-key=c2hvcnQ=")
    assert short.returncode == 2
    assert "32 bytes" in short.stderr
