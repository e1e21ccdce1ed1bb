"""The core loop end to end, over real HTTP against a running server (uvicorn on a loopback port)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import uvicorn
from icalendar import Calendar
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.applications import Starlette

from app.core.clock import Clock
from tests.helpers import GraphQLClient, db_id
from tests.marketplace_support import (
    COMPLETE,
    LEDGER,
    START,
    STATS,
    SUBMIT_FEEDBACK,
    assert_ledger_consistent,
    book,
    new_specialization,
    points,
    publish,
    travel,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def live(app: Starlette, committing_client: GraphQLClient) -> AsyncIterator[GraphQLClient]:
    """The session's app served by uvicorn (its lifespan already ran); data is committed for real."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", timeout_graceful_shutdown=5
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        yield GraphQLClient(http)
    server.should_exit = True
    await task


async def test_publish_book_start_complete_feedback(
    live: GraphQLClient, engine: AsyncEngine, clock: Clock
) -> None:
    client = live
    async with AsyncSession(engine) as session:
        spec = await new_specialization(session)
        await session.commit()
    interviewer, candidate = await client.sign_up("ines"), await client.sign_up("carl")
    start = (clock.now() + timedelta(hours=3)).replace(microsecond=0)
    slot_id = await publish(client, interviewer, spec, start, title="System design mock")
    interview = await book(client, candidate, slot_id)
    interview_id = interview["id"]
    assert (await points(client, interviewer), await points(client, candidate)) == (1, 0)

    await travel(client, clock, timedelta(hours=3) - timedelta(minutes=5), interviewer, candidate)
    for member in (candidate, interviewer):
        started = (await client.data(START, {"id": interview_id}, token=member.access_token))[
            "startInterview"
        ]
        assert started["status"] == "IN_PROGRESS"
    await travel(client, clock, timedelta(minutes=50), interviewer, candidate)
    done = (await client.data(COMPLETE, {"id": interview_id}, token=interviewer.access_token))[
        "completeInterview"
    ]
    assert done["status"] == "COMPLETED"

    for author, rating, comment in (
        (candidate, 5, "Very helpful session!"),
        (interviewer, 3, "Good, revise caching"),
    ):
        await client.data(
            SUBMIT_FEEDBACK,
            {"input": {"interviewId": interview_id, "rating": rating, "comment": comment}},
            token=author.access_token,
        )

    assert (await points(client, interviewer), await points(client, candidate)) == (2, 0)
    ledgers = {}
    for member in (interviewer, candidate):
        data = await client.data(LEDGER, {"id": member.id}, token=member.access_token)
        ledgers[member.id] = [
            (e["node"]["kind"], e["node"]["amount"], e["node"]["balanceAfter"])
            for e in data["user"]["pointsLedger"]["edges"]
        ]
    assert ledgers[interviewer.id] == [("REWARD", 1, 2), ("GRANT", 1, 1)]
    assert ledgers[candidate.id] == [("SPEND", -1, 0), ("GRANT", 1, 1)]

    stats = (await client.data(STATS, {"id": interviewer.id}))["user"]["stats"]
    assert stats == {"interviewsGiven": 1, "interviewsTaken": 0, "averageRating": 5.0, "noShows": 0}
    stats = (await client.data(STATS, {"id": candidate.id}))["user"]["stats"]
    assert stats == {"interviewsGiven": 0, "interviewsTaken": 1, "averageRating": None, "noShows": 0}

    query = "query($id: ID!) { interview(id: $id) { calendarEvent } }"
    text = (await client.data(query, {"id": interview_id}, token=candidate.access_token))["interview"][
        "calendarEvent"
    ]
    event = next(iter(Calendar.from_ical(text).walk("VEVENT")))
    assert str(event.get("UID")) == f"interview-{db_id(interview_id)}@mockinterview"
    assert event.get("DTSTART").dt == start
    assert str(event.get("SUMMARY")) == "System design mock"
    assert str(event.get("STATUS")) == "CONFIRMED"

    url = (await client.data("query { me { calendarFeedUrl } }", token=interviewer.access_token))["me"][
        "calendarFeedUrl"
    ]
    response = await client.http.get(httpx.URL(url).path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    uids = [str(e.get("UID")) for e in Calendar.from_ical(response.text).walk("VEVENT")]
    assert uids == [f"interview-{db_id(interview_id)}@mockinterview"]

    async with AsyncSession(engine) as session:
        await assert_ledger_consistent(session)
