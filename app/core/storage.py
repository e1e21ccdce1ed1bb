"""Where uploaded files live: a small interface with a local-directory implementation."""

from __future__ import annotations

import asyncio
import re
import secrets
from pathlib import Path
from typing import Protocol

from app.core.settings import Settings

_KEY = re.compile(r"^[a-f0-9]{32}\.[a-z]{3,4}$")


class Storage(Protocol):
    """Blob storage keyed by server-generated names."""

    async def save(self, key: str, data: bytes) -> None: ...

    async def load(self, key: str) -> bytes | None: ...

    async def delete(self, key: str) -> None: ...


def new_key(extension: str) -> str:
    """A fresh, unguessable storage key; client-supplied names are never used."""
    return f"{secrets.token_hex(16)}.{extension}"


class LocalStorage:
    """Files in one directory (default `DATA_DIR/uploads`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):  # defence in depth: keys are ours, so never a path
            raise ValueError("invalid storage key")
        return self.root / key

    async def save(self, key: str, data: bytes) -> None:
        path = self._path(key)

        def write() -> None:
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(path)

        await asyncio.to_thread(write)

    async def load(self, key: str) -> bytes | None:
        path = self._path(key)

        def read() -> bytes | None:
            return path.read_bytes() if path.is_file() else None

        return await asyncio.to_thread(read)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)


def storage_for(settings: Settings) -> Storage:
    """The configured storage (only the local directory for now)."""
    return LocalStorage(settings.data_dir / "uploads")
