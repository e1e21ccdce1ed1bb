"""Migrations run from an empty database to head, down to nothing, and up again."""

from __future__ import annotations

import asyncio

import asyncpg

from db.migrate import downgrade, upgrade
from tests import infra


async def _tables(url: str) -> set[str]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await connection.close()
    return {row["tablename"] for row in rows}


async def test_upgrade_downgrade_upgrade(postgres_server: str) -> None:
    name = infra.fresh_database_name()
    url = await infra.create_database(postgres_server, name)
    try:
        await asyncio.to_thread(upgrade, url)
        assert {"users", "slots", "interviews", "points_ledger", "messages"} <= await _tables(url)
        await asyncio.to_thread(downgrade, url, "base")
        assert await _tables(url) <= {"alembic_version"}
        await asyncio.to_thread(upgrade, url)
        assert "interviews" in await _tables(url)
    finally:
        await infra.drop_database(postgres_server, name)
