"""Interview ICS events and the secret calendar feed (docs/product.md, rule 19), parsed with icalendar."""

from __future__ import annotations

from datetime import UTC, timedelta

import httpx
from icalendar import Calendar
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from tests.helpers import GraphQLClient, db_id
from tests.marketplace_support import ARCHIVE, CANCEL, book, new_specialization, publish

EVENT = "query($id: ID!) { interview(id: $id) { calendarEvent } }"
FEED_URL = "query { me { calendarFeedUrl } }"
OTHER_FEED_URL = "query($id: ID!) { user(id: $id) { calendarFeedUrl } }"
REGENERATE = "mutation { regenerateCalendarFeedUrl { id calendarFeedUrl } }"


def only_event(text: str) -> dict[str, object]:
    calendar = Calendar.from_ical(text)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    return {
        key: event.get(key) for key in ("UID", "DTSTART", "DTEND", "SUMMARY", "URL", "STATUS", "SEQUENCE")
    }


async def feed(client: GraphQLClient, url: str) -> httpx.Response:
    return await client.http.get(httpx.URL(url).path)


async def test_calendar_event_fields_and_cancellation(
    client: GraphQLClient, db_session: AsyncSession, clock: Clock
) -> None:
    host, candidate = await client.sign_up("host"), await client.sign_up("cand")
    spec = await new_specialization(db_session)
    start = (clock.now() + timedelta(days=2)).replace(microsecond=0)
    interview = await book(client, candidate, await publish(client, host, spec, start))
    text = (await client.data(EVENT, {"id": interview["id"]}, token=candidate.access_token))["interview"][
        "calendarEvent"
    ]
    assert "BEGIN:VCALENDAR" in text
    assert "DTSTART:" + start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") in text.replace("\r\n ", "")
    fields = only_event(text)
    assert str(fields["UID"]) == f"interview-{db_id(interview['id'])}@mockinterview"
    assert fields["DTSTART"].dt == start  # type: ignore[attr-defined]
    assert fields["DTSTART"].dt.utcoffset() == timedelta(0)  # type: ignore[attr-defined]
    assert fields["DTEND"].dt == start + timedelta(hours=1)  # type: ignore[attr-defined]
    assert str(fields["SUMMARY"]) == "Python deep dive"
    assert str(fields["URL"]) == "https://meet.example.com/room-1"
    assert str(fields["STATUS"]) == "CONFIRMED"

    await client.data(CANCEL, {"id": interview["id"]}, token=candidate.access_token)
    cancelled = only_event(
        (await client.data(EVENT, {"id": interview["id"]}, token=host.access_token))["interview"][
            "calendarEvent"
        ]
    )
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert cancelled["UID"] == fields["UID"]  # stable, so calendar apps update the same event
    assert int(cancelled["SEQUENCE"]) > int(fields["SEQUENCE"])  # type: ignore[call-overload]


async def test_calendar_feed(client: GraphQLClient, db_session: AsyncSession, clock: Clock) -> None:
    host, candidate, other = [await client.sign_up(n) for n in ("host", "cand", "other")]
    spec = await new_specialization(db_session)
    base = (clock.now() + timedelta(days=1)).replace(microsecond=0)
    first = await book(client, candidate, await publish(client, host, spec, base))
    second_slot = await publish(client, candidate, spec, base + timedelta(hours=3))
    second = await book(client, host, second_slot)  # the host spends their signup point

    url = (await client.data(FEED_URL, token=candidate.access_token))["me"]["calendarFeedUrl"]
    assert url.startswith("http://127.0.0.1:8000/calendar/")
    assert url.endswith(".ics")
    assert (await client.data(OTHER_FEED_URL, {"id": candidate.id}, token=other.access_token))["user"][
        "calendarFeedUrl"
    ] is None
    response = await feed(client, url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.text)
    uids = {str(e.get("UID")) for e in calendar.walk("VEVENT")}
    assert uids == {f"interview-{db_id(i['id'])}@mockinterview" for i in (first, second)}  # both roles
    for event in calendar.walk("VEVENT"):
        assert event.get("DTSTART").dt.utcoffset() == timedelta(0)
        assert str(event.get("URL")).startswith("https://")

    # Archived interviews leave the feed.
    await client.data(CANCEL, {"id": first["id"]}, token=candidate.access_token)
    await client.data(ARCHIVE, {"id": first["id"]}, token=candidate.access_token)
    calendar = Calendar.from_ical((await feed(client, url)).text)
    assert {str(e.get("UID")) for e in calendar.walk("VEVENT")} == {
        f"interview-{db_id(second['id'])}@mockinterview"
    }

    # Regenerating makes the old URL stop working.
    regenerated = (await client.data(REGENERATE, token=candidate.access_token))["regenerateCalendarFeedUrl"]
    assert regenerated["calendarFeedUrl"] != url
    assert (await feed(client, url)).status_code == 404
    assert (await feed(client, regenerated["calendarFeedUrl"])).status_code == 200
    assert (await client.http.get("/calendar/not-a-token.ics")).status_code == 404
    assert await client.error_code(REGENERATE) == "UNAUTHENTICATED"
