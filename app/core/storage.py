"""Where uploaded files live: a small interface, a local-directory implementation, and the choice of
backend (`STORAGE_BACKEND`; the S3-compatible one is in app/core/storage_s3.py). The bytes stored are
already sealed (app/core/file_crypto.py); backends only keep them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

from app.core.settings import Settings
from app.core.storage_keys import new_key, valid_key

__all__ = ["LocalStorage", "Storage", "new_key", "storage_for"]


class Storage(Protocol):
    """Blob storage keyed by server-generated names."""

    async def save(self, key: str, data: bytes) -> None: ...

    async def load(self, key: str) -> bytes | None: ...

    async def delete(self, key: str) -> None: ...


class LocalStorage:
    """Files in one directory (default `DATA_DIR/uploads`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / valid_key(key)

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
    """The configured storage; an S3 client is built once per process and configuration."""
    if settings.storage_backend == "s3":
        # lazy: boto3 is the optional `s3` extra, imported only by deployments that use it
        from app.core.storage_s3 import S3Config, s3_storage

        return s3_storage(S3Config.from_settings(settings))
    return LocalStorage(settings.data_dir / "uploads")
