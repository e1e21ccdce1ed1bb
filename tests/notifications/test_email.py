"""Email through a real SMTP server on loopback: text and HTML, the booking's calendar invite, and an
RFC 8058 one-click unsubscribe that the server handles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.clock import Clock
from db.models import Specialization
from resolvers.unit_of_work import Services
from schema.ids import to_global_id
from tests.helpers import GraphQLClient, db_id
from tests.marketplace_support import book, publish
from tests.notifications.delivery_support import (
    Inbox,
    running_workers,
    settled,
    smtp_server,
    worker_services,
)

PREFERENCES = "query { notificationPreferences { kinds { kind channels inApp } } }"


@pytest.fixture
async def smtp(app_state: Services) -> AsyncIterator[Inbox]:
    """A loopback SMTP server, and the app configured to email through it."""
    original = app_state.settings
    async with smtp_server() as (url, inbox):
        app_state.settings = original.model_copy(update={"smtp_url": url})
        try:
            yield inbox
        finally:
            app_state.settings = original


async def new_topic(engine: AsyncEngine) -> str:
    async with engine.begin() as conn:
        spec_id = (
            await conn.execute(insert(Specialization).values(name="Email topic").returning(Specialization.id))
        ).scalar_one()
    return to_global_id("Specialization", spec_id)


async def test_booking_emails_both_members_with_invite_and_one_click_unsubscribe(
    committing_client: GraphQLClient,
    engine: AsyncEngine,
    app_state: Services,
    database_url: str,
    clock: Clock,
    smtp: Inbox,
) -> None:
    host, candidate = await committing_client.sign_up("host"), await committing_client.sign_up("cand")
    slot = await publish(committing_client, host, await new_topic(engine), clock.now() + timedelta(days=2))
    interview = await book(committing_client, candidate, slot)
    async with running_workers(worker_services(app_state, engine), database_url):
        rows = await settled(engine, 2)
    # Points changes are not emailed by default; the booking is, to both sides.
    assert sorted((row.kind, row.status) for row in rows) == [
        ("BOOKED", "SENT"),
        ("BOOKING_CONFIRMED", "SENT"),
    ]
    messages = {message["To"]: message for message in smtp.messages}
    assert set(messages) == {host.email, candidate.email}
    confirmation = messages[candidate.email]
    assert confirmation["Subject"] == "Your booking is confirmed"
    assert confirmation["Message-ID"].startswith("<delivery-")
    parts = {part.get_content_type(): part for part in confirmation.walk()}
    assert "Your booking is confirmed" in parts["text/plain"].get_content()
    assert "<h1>Your booking is confirmed</h1>" in parts["text/html"].get_content()
    invite = parts["text/calendar"].get_content()
    assert "BEGIN:VEVENT" in invite
    assert f"UID:interview-{db_id(interview['id'])}@mockinterview" in invite
    assert confirmation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = confirmation["List-Unsubscribe"].strip("<>")
    path = urlsplit(url).path
    # GET (a mail scanner following the link) changes nothing; the one-click POST unsubscribes.
    assert (await committing_client.http.get(path)).status_code == 200
    before = await committing_client.data(PREFERENCES, token=candidate.access_token)
    kinds = {k["kind"]: k for k in before["notificationPreferences"]["kinds"]}
    assert "EMAIL" in kinds["BOOKING_CONFIRMED"]["channels"]
    reply = await committing_client.http.post(path, content=b"List-Unsubscribe=One-Click")
    assert reply.status_code == 200
    after = await committing_client.data(PREFERENCES, token=candidate.access_token)
    kinds = {k["kind"]: k for k in after["notificationPreferences"]["kinds"]}
    assert kinds["BOOKING_CONFIRMED"]["channels"] == ["TELEGRAM", "WEBHOOK", "WEB_PUSH"]
    assert kinds["BOOKING_CONFIRMED"]["inApp"] is True
    assert "EMAIL" in kinds["BOOKED"]["channels"]  # other kinds are unaffected
    forged = path[:-3] + ("abc" if not path.endswith("abc") else "xyz")
    assert (await committing_client.http.post(forged)).status_code == 404
