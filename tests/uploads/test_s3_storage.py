"""STORAGE_BACKEND=s3 against a real S3-compatible server (moto's server mode, over HTTPS with a
certificate from a throwaway CA): uploads land sealed in the bucket, are served decrypted,
removeAvatar deletes the object, and a server certificate the CA did not sign is refused."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError, SSLError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette

from app.core.clock import Clock
from app.core.file_crypto import MAGIC
from app.core.storage import new_key, storage_for
from app.core.storage_s3 import S3Config, S3Storage, s3_client
from tests.conftest import make_settings
from tests.helpers import GraphQLClient
from tests.process import free_port
from tests.tls.ca import TestCA
from tests.tls.servers import client_context
from tests.uploads.support import (
    AVATAR,
    AVATAR_OF,
    PDF,
    RESUME,
    png,
    running_app,
    transactional_client,
    upload,
)

BUCKET = "mockinterview-uploads"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("s3-ca"))


@pytest.fixture(scope="module")
def moto_endpoint(ca: TestCA) -> Iterator[str]:
    """`moto_server` over HTTPS on a free loopback port, stopped at the end of the module."""
    executable = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    if executable is None:
        pytest.skip("moto[server] is not installed")
    cert, port = ca.issue("s3"), free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [
                executable,
                "-H",
                "127.0.0.1",
                "-p",
                str(port),
                "-c",
                str(cert.certfile),
                "-k",
                str(cert.keyfile),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        endpoint = f"https://127.0.0.1:{port}"
        try:
            _wait_for(endpoint, ca, process)
            yield endpoint
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_for(endpoint: str, ca: TestCA, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "moto_server exited"
        try:
            httpx.get(endpoint + "/moto-api/", verify=client_context(ca.cert_path), timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError("moto_server did not start")


@pytest.fixture(scope="module")
def bucket(moto_endpoint: str, ca: TestCA) -> Any:
    """A boto3 view of the bucket, for looking behind the app's back."""
    client = boto3.client(
        "s3", endpoint_url=moto_endpoint, region_name="us-east-1", verify=str(ca.cert_path), **CREDENTIALS
    )
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture(scope="module")
async def s3_app(
    moto_endpoint: str,
    bucket: Any,
    ca: TestCA,
    database_url: str,
    redis_url: str,
    clock: Clock,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Starlette]:
    settings = make_settings(
        database_url,
        redis_url,
        data_dir=tmp_path_factory.mktemp("s3-data"),
        storage_backend="s3",
        s3_endpoint_url=moto_endpoint,
        s3_bucket=BUCKET,
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_CA_BUNDLE", str(ca.cert_path))  # boto3's setting for a private CA
        async with running_app(settings, clock) as application:
            yield application


@pytest.fixture
async def s3_http(s3_app: Starlette, connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    async with transactional_client(s3_app, connection) as client:
        yield client


def _object(bucket: Any, url: str) -> bytes:
    body: bytes = bucket.get_object(Bucket=BUCKET, Key="uploads/" + url.rsplit("/", 1)[1])["Body"].read()
    return body


def _exists(bucket: Any, url: str) -> bool:
    try:
        bucket.head_object(Bucket=BUCKET, Key="uploads/" + url.rsplit("/", 1)[1])
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey"):
            return False
        raise
    return True


async def test_uploads_are_sealed_in_the_bucket_and_served_decrypted(
    s3_http: httpx.AsyncClient, bucket: Any
) -> None:
    member = await GraphQLClient(s3_http).sign_up("s3")
    avatar = (await upload(s3_http, AVATAR, png(25, 25), token=member.access_token)).json()
    resume = (await upload(s3_http, RESUME, PDF, token=member.access_token)).json()
    assert not avatar.get("errors"), avatar
    assert not resume.get("errors"), resume
    avatar_url, resume_url = avatar["data"]["uploadAvatar"]["url"], resume["data"]["uploadResume"]["url"]
    for url, plain in ((avatar_url, png(25, 25)), (resume_url, PDF)):
        stored = _object(bucket, url)
        assert stored.startswith(MAGIC)
        assert plain not in stored
        assert plain[:8] not in stored
    assert (await s3_http.get(avatar_url)).content == png(25, 25)
    served = await s3_http.get(resume_url, headers={"Authorization": f"Bearer {member.access_token}"})
    assert served.content == PDF


async def test_remove_avatar_deletes_the_object(s3_http: httpx.AsyncClient, bucket: Any) -> None:
    client = GraphQLClient(s3_http)
    member = await client.sign_up("s3-remove")
    first, second = [
        (await upload(s3_http, AVATAR, image, token=member.access_token)).json()["data"]["uploadAvatar"][
            "url"
        ]
        for image in (png(8, 8), png(9, 9))
    ]
    assert not _exists(bucket, first)  # a replaced avatar's object goes once the new one committed
    assert _exists(bucket, second)
    await client.data("mutation { removeAvatar { id } }", token=member.access_token)
    assert not _exists(bucket, second)
    assert (await client.data(AVATAR_OF, {"u": member.id}))["avatar"] is None
    assert (await s3_http.get(second)).status_code == 404


async def test_missing_objects_and_untrusted_servers(
    s3_app: Starlette, moto_endpoint: str, tmp_path: Path
) -> None:
    settings = s3_app.state.services.settings
    storage = storage_for(settings)
    assert isinstance(storage, S3Storage)
    assert storage_for(settings) is storage  # one client per process and configuration
    absent = new_key("png")
    assert await storage.load(absent) is None
    await storage.delete(absent)  # deleting nothing is no error, as on disk
    with pytest.raises(ValueError, match="invalid storage key"):
        await storage.load("../../etc/passwd")
    stranger = TestCA(tmp_path, name="Somebody else's CA")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_CA_BUNDLE", str(stranger.cert_path))
        untrusting = S3Storage(S3Config.from_settings(settings), s3_client(S3Config.from_settings(settings)))
        with pytest.raises(SSLError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            await untrusting.save(new_key("png"), b"never stored")
