"""The client set-ups of docs/clients.md against a real `mockinterview serve` on real PostgreSQL and
Redis (the machine's or the embedded ones, as for every test).

The JavaScript clients run under Node 22 from the npm package `node`, pinned with the client
libraries in js/package.json and js/package-lock.json and installed by `npm ci` into js/node_modules
(git-ignored) on first use and whenever the lock file changes. Without npm these tests skip, except
under CI=true, where they fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from db.migrate import upgrade
from tests import infra
from tests.clients.support import install_node_packages, png, require_npm


@pytest.fixture(scope="session")
def node() -> Path:
    """Node 22 with the pinned client packages installed next to the scenarios."""
    return install_node_packages(require_npm())


@pytest.fixture(scope="package")
async def clients_db(postgres_server: str) -> AsyncIterator[str]:
    name = infra.fresh_database_name()
    url = await infra.create_database(postgres_server, name)
    await asyncio.to_thread(upgrade, url)
    yield url
    await infra.drop_database(postgres_server, name)


@pytest.fixture(scope="session")
def avatar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clients") / "avatar.png"
    path.write_bytes(png(24, 12))
    return path
