"""Preferences: channels per kind (in-app always on), quiet hours in the member's time zone, and the
deliveries they lead to."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.enums import LedgerKind
from db.models import Delivery
from resolvers.deliveries.preferences import quiet_delay
from resolvers.points import change_balance
from resolvers.unit_of_work import Services, UnitOfWork
from tests.helpers import GraphQLClient, db_id
from tests.notifications.delivery_support import worker_services
from tests.notifications.reach_support import vapid_keys

READ = """query { notificationPreferences { kinds { kind channels inApp } quietHoursStart quietHoursEnd
  timezone } }"""
UPDATE = """mutation($input: NotificationPreferencesInput!) { updateNotificationPreferences(input: $input) {
  kinds { kind channels } quietHoursStart quietHoursEnd } }"""


def by_kind(preferences: dict[str, object]) -> dict[str, list[str]]:
    kinds = preferences["kinds"]
    assert isinstance(kinds, list)
    return {item["kind"]: item["channels"] for item in kinds}


async def test_defaults_updates_and_bad_input(client: GraphQLClient) -> None:
    member = await client.sign_up("prefs")
    assert await client.error_code(READ) == "UNAUTHENTICATED"
    read = (await client.data(READ, token=member.access_token))["notificationPreferences"]
    channels = by_kind(read)
    assert channels["BOOKED"] == ["EMAIL", "WEBHOOK", "WEB_PUSH", "TELEGRAM"]
    # Points are not emailed unless asked for.
    assert channels["POINTS_CHANGED"] == ["WEBHOOK", "WEB_PUSH", "TELEGRAM"]
    assert all(item["inApp"] for item in read["kinds"])
    assert (read["quietHoursStart"], read["quietHoursEnd"], read["timezone"]) == (None, None, "UTC")
    changes = {
        "kinds": [{"kind": "BOOKED", "channels": []}, {"kind": "POINTS_CHANGED", "channels": ["EMAIL"]}],
        "quietHoursStart": "22:00",
        "quietHoursEnd": "07:30",
    }
    updated = (await client.data(UPDATE, {"input": changes}, token=member.access_token))[
        "updateNotificationPreferences"
    ]
    assert by_kind(updated)["BOOKED"] == []
    assert by_kind(updated)["POINTS_CHANGED"] == ["EMAIL"]
    assert by_kind(updated)["CANCELLED"] == ["EMAIL", "WEBHOOK", "WEB_PUSH", "TELEGRAM"]  # untouched
    assert (updated["quietHoursStart"], updated["quietHoursEnd"]) == ("22:00", "07:30")
    # Omitted fields keep their values; both quiet-hour fields null clear them.
    kept = await client.data(UPDATE, {"input": {}}, token=member.access_token)
    assert kept["updateNotificationPreferences"]["quietHoursStart"] == "22:00"
    cleared = await client.data(
        UPDATE, {"input": {"quietHoursStart": None, "quietHoursEnd": None}}, token=member.access_token
    )
    assert cleared["updateNotificationPreferences"]["quietHoursEnd"] is None
    for bad in (
        {"quietHoursStart": "25:00", "quietHoursEnd": "07:00"},
        {"quietHoursStart": "22:00"},
        {"quietHoursStart": "08:00", "quietHoursEnd": "08:00"},
        {"kinds": [{"kind": "BOOKED", "channels": []}, {"kind": "BOOKED", "channels": ["EMAIL"]}]},
    ):
        assert await client.error_code(UPDATE, {"input": bad}, token=member.access_token) == "BAD_USER_INPUT"


def test_quiet_delay_in_the_members_time_zone() -> None:
    night, morning = time(22, 0), time(7, 0)
    # 23:30 in Berlin (UTC+1 in January): quiet until 07:00 local, 7.5 hours later.
    at = datetime(2031, 1, 10, 22, 30, tzinfo=UTC)
    assert quiet_delay(at, "Europe/Berlin", night, morning) == timedelta(hours=7, minutes=30)
    assert quiet_delay(at, "UTC", night, morning) == timedelta(hours=8, minutes=30)
    assert quiet_delay(at, "America/New_York", night, morning) == timedelta(0)  # 17:30 there
    assert quiet_delay(at, "Europe/Berlin", None, None) == timedelta(0)
    assert quiet_delay(at, "Europe/Berlin", time(1, 0), time(5, 0)) == timedelta(0)
    assert quiet_delay(at, "Not/AZone", night, morning) == timedelta(hours=8, minutes=30)  # as UTC


async def test_choices_and_quiet_hours_shape_the_deliveries(
    committing_client: GraphQLClient, engine: AsyncEngine, app_state: Services
) -> None:
    member = await committing_client.sign_up("quiet")
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["POINTS_CHANGED"]}
    await committing_client.data(
        "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { secret } }",
        {"i": hook},
        token=member.access_token,
    )
    now = datetime.now(UTC)
    quiet = {
        "quietHoursStart": f"{(now - timedelta(hours=1)).hour:02d}:00",
        "quietHoursEnd": f"{(now + timedelta(hours=2)).hour:02d}:00",
    }
    kinds = [{"kind": "POINTS_CHANGED", "channels": ["EMAIL", "WEBHOOK", "WEB_PUSH", "TELEGRAM"]}]
    await committing_client.data(UPDATE, {"input": {"kinds": kinds, **quiet}}, token=member.access_token)
    public, private = vapid_keys()
    async with engine.begin() as conn:  # a browser and a Telegram chat to reach
        await conn.execute(
            text(
                "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth) "
                "VALUES (:id, 'http://127.0.0.1:9/p', '', '')"
            ),
            {"id": db_id(member.id)},
        )
        await conn.execute(
            text("INSERT INTO telegram_chats (user_id, chat_id) VALUES (:id, 1)"), {"id": db_id(member.id)}
        )
    services = worker_services(
        app_state,
        engine,
        smtp_url="smtp://127.0.0.1:9",
        vapid_public_key=public,
        vapid_private_key=private,
        vapid_subject="mailto:ops@example.com",
        telegram_bot_token="1:x",
    )
    uow = UnitOfWork.open(services)
    try:
        async with uow.db.transaction() as session:
            await change_balance(session, db_id(member.id), 1, LedgerKind.ADJUSTMENT, reason="q", uow=uow)
    finally:
        await uow.close()
    async with engine.connect() as conn:
        deliveries = {row.channel: row.id for row in (await conn.execute(select(Delivery))).all()}
        waits: dict[int, timedelta] = dict(
            (
                await conn.execute(
                    text("SELECT convert_from(payload, 'UTF8')::bigint, execute_after - now() FROM pgqueuer")
                )
            ).all()
        )
    assert set(deliveries) == {"EMAIL", "WEBHOOK", "WEB_PUSH", "TELEGRAM"}
    assert waits[deliveries["WEBHOOK"]] <= timedelta(seconds=5)  # systems are not kept waiting
    for personal in ("EMAIL", "WEB_PUSH", "TELEGRAM"):  # people are, until the quiet hours end
        assert waits[deliveries[personal]] >= timedelta(hours=1), personal
