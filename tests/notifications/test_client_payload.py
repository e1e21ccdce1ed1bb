"""The payload clients get, made in SQL (the generated `client_payload` column the compiled reads
select) and in Python (`client_payload`, for events that carry a payload and no row): the same."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from schema.notifications.types import PAYLOAD_ID_TYPES, client_payload

STORED: list[dict[str, Any]] = [
    {},
    *({key: 42} for key in PAYLOAD_ID_TYPES),
    *({key: "42"} for key in PAYLOAD_ID_TYPES),  # not a database id: kept as it is
    *({key: True} for key in PAYLOAD_ID_TYPES),
    *({key: -7, "starts_at": "2026-12-03T10:00:00+00:00"} for key in PAYLOAD_ID_TYPES),
    {"interview_id": 9_007_199_254_740_993, "minutes_before": 15, "balance_after": 0},
    {"reason": "no-show", "rating": 4.5, "upheld": False, "amount": None},
    {"a__b": 1, "_leading": 2, "trailing_": 3, "alreadyCamel": 4, "with_2_digits": 5, "x": [1, {"y_z": 2}]},
    {"nested_object": {"inner_key": "kept as stored"}},
]


@pytest.mark.parametrize("stored", STORED, ids=[json.dumps(s)[:60] for s in STORED])
async def test_sql_and_python_forms_agree(connection: AsyncConnection, stored: dict[str, Any]) -> None:
    made = await connection.scalar(
        text("SELECT notification_client_payload(CAST(:p AS jsonb))"), {"p": json.dumps(stored)}
    )
    assert made == client_payload(stored)


async def test_the_column_follows_the_stored_payload(connection: AsyncConnection) -> None:
    user_id = await connection.scalar(
        text(
            "INSERT INTO users (email, password_hash, display_name) "
            "VALUES ('payload@example.com', 'x', 'Payload') RETURNING id"
        )
    )
    stored = {"interview_id": 5, "starts_at": "2026-12-03T10:00:00+00:00"}
    notification_id = await connection.scalar(
        text(
            "INSERT INTO notifications (user_id, kind, payload) "
            "VALUES (:u, 'BOOKING_CONFIRMED', CAST(:p AS jsonb)) RETURNING id"
        ),
        {"u": user_id, "p": json.dumps(stored)},
    )
    await connection.execute(
        text("UPDATE notifications SET payload = payload || '{\"accused_id\": 7}' WHERE id = :i"),
        {"i": notification_id},
    )
    shown = await connection.scalar(
        text("SELECT client_payload FROM notifications WHERE id = :i"), {"i": notification_id}
    )
    assert shown == client_payload({**stored, "accused_id": 7})
