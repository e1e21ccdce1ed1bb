"""Migrations run from an empty database to head, down to nothing, and up again."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg

from db.migrate import downgrade, upgrade
from schema.ids import to_global_id
from schema.notifications.types import client_payload
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


STARTS = "2030-01-02T10:00:00+00:00"
# Payloads as the app stored them before 0003 (global IDs, camelCase) and as it stores them since.
OLD_AND_NEW: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (
        {"interviewId": to_global_id("Interview", 5), "startsAt": STARTS},
        {"interview_id": 5, "starts_at": STARTS},
    ),
    (
        {"interviewId": to_global_id("Interview", 6), "startsAt": STARTS, "reason": None},
        {"interview_id": 6, "starts_at": STARTS, "reason": None},
    ),
    (
        {"interviewId": to_global_id("Interview", 7), "startsAt": STARTS, "rating": 4},
        {"interview_id": 7, "starts_at": STARTS, "rating": 4},
    ),
    (
        {"interviewId": to_global_id("Interview", 8), "startsAt": STARTS, "minutesBefore": 15},
        {"interview_id": 8, "starts_at": STARTS, "minutes_before": 15},
    ),
    (
        {
            "interviewId": to_global_id("Interview", 123_456_789_012),
            "startsAt": STARTS,
            "upheld": True,
            "accusedId": to_global_id("User", 42),
        },
        {"interview_id": 123_456_789_012, "starts_at": STARTS, "upheld": True, "accused_id": 42},
    ),
    (
        {"amount": -3, "balanceAfter": 4, "reason": "Booking"},
        {"amount": -3, "balance_after": 4, "reason": "Booking"},
    ),
    ({}, {}),
    ({"pad": "x"}, {"pad": "x"}),
]
# Values that are no global ID of the expected type keep their value (only the key changes).
UNEXPECTED: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"interviewId": "not base64!"}, {"interview_id": "not base64!"}),
    ({"interviewId": to_global_id("User", 3)}, {"interview_id": to_global_id("User", 3)}),
    ({"accusedId": "AAAA"}, {"accused_id": "AAAA"}),
]


async def _payloads(url: str) -> list[dict[str, Any]]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch("SELECT payload FROM notifications ORDER BY id")
    finally:
        await connection.close()
    return [json.loads(row["payload"]) for row in rows]


async def test_0003_stores_database_ids_in_notification_payloads(postgres_server: str) -> None:
    name = infra.fresh_database_name()
    url = await infra.create_database(postgres_server, name)
    try:
        await asyncio.to_thread(upgrade, url, "0002")
        old = [o for o, _ in OLD_AND_NEW + UNEXPECTED]
        connection = await asyncpg.connect(url)
        try:
            user_id = await connection.fetchval(
                "INSERT INTO users (email, display_name) VALUES ('a@example.com', 'A') RETURNING id"
            )
            await connection.executemany(
                "INSERT INTO notifications (user_id, kind, payload) VALUES ($1, 'BOOKED', $2::jsonb)",
                [(user_id, json.dumps(payload)) for payload in old],
            )
        finally:
            await connection.close()
        await asyncio.to_thread(upgrade, url)
        assert await _payloads(url) == [n for _, n in OLD_AND_NEW + UNEXPECTED]
        # Clients see what they saw before.
        assert [client_payload(n) for _, n in OLD_AND_NEW] == [o for o, _ in OLD_AND_NEW]
        await asyncio.to_thread(downgrade, url, "0002")
        assert await _payloads(url) == old
    finally:
        await infra.drop_database(postgres_server, name)
