"""Uploaded files in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, R2, ...), through boto3.

boto3 is synchronous; its clients are thread-safe, so each call runs in a worker thread and one
client per process and configuration is shared. Object names are `S3_KEY_PREFIX` + the storage key.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from app.core.settings import Settings
from app.core.storage_keys import valid_key

_MISSING = {"NoSuchKey", "404", "NotFound"}


@dataclass(frozen=True, repr=False)
class S3Config:
    bucket: str
    endpoint_url: str | None
    region: str
    key_prefix: str
    access_key_id: str | None
    secret_access_key: str | None

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Config:
        assert settings.s3_bucket, "STORAGE_BACKEND=s3 needs S3_BUCKET (checked by Settings)"
        return cls(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            key_prefix=settings.s3_key_prefix,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        )

    def __repr__(self) -> str:  # never the secret
        return f"S3Config(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r})"


def s3_client(config: S3Config) -> Any:
    """A boto3 S3 client. Other S3-compatible servers rarely serve buckets as host names, so a
    custom endpoint gets path-style addressing; certificate checks use boto3's defaults (a private
    CA: `AWS_CA_BUNDLE`)."""
    options = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path" if config.endpoint_url else "auto"},
        connect_timeout=5,
        read_timeout=30,
        retries={"mode": "standard", "max_attempts": 3},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=config.endpoint_url,
        region_name=config.region,
        aws_access_key_id=config.access_key_id,
        aws_secret_access_key=config.secret_access_key,
        config=options,
    )


class S3Storage:
    """The `Storage` interface on one bucket."""

    def __init__(self, config: S3Config, client: Any) -> None:
        self._config = config
        self._client = client

    def _name(self, key: str) -> str:
        return self._config.key_prefix + valid_key(key)

    async def save(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self._config.bucket,
            Key=self._name(key),
            Body=data,
            ContentType="application/octet-stream",  # sealed bytes; the real type is in the row
        )

    async def load(self, key: str) -> bytes | None:
        def read() -> bytes | None:
            try:
                reply = self._client.get_object(Bucket=self._config.bucket, Key=self._name(key))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in _MISSING:
                    return None
                raise
            body: bytes = reply["Body"].read()
            return body

        return await asyncio.to_thread(read)

    async def delete(self, key: str) -> None:
        # Deleting an absent object succeeds in S3, as `LocalStorage.delete` does.
        await asyncio.to_thread(self._client.delete_object, Bucket=self._config.bucket, Key=self._name(key))


@lru_cache(maxsize=4)
def s3_storage(config: S3Config) -> S3Storage:
    """The storage of `config`, with one client per process and configuration."""
    return S3Storage(config, s3_client(config))
