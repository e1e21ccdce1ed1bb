"""Fixtures of the upload tests: an app with a data dir of its own, and an HTTP client in the test's
rolled-back transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette

from app.core.clock import Clock
from tests.conftest import make_settings
from tests.uploads.support import running_app, transactional_client


@pytest.fixture(scope="module")
async def upload_app(
    database_url: str, redis_url: str, clock: Clock, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Starlette]:
    settings = make_settings(database_url, redis_url, data_dir=tmp_path_factory.mktemp("data"))
    async with running_app(settings, clock) as application:
        yield application


@pytest.fixture
async def http(upload_app: Starlette, connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    async with transactional_client(upload_app, connection) as client:
        yield client
