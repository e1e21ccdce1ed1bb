"""The compiled reads (one SQL statement builds the node JSON; schema/compiled_reads.py) must answer
exactly as the resolver path: every query runs twice on the same data, COMPILED_READS on and off,
and the whole responses (data and errors) must be equal. A counter on `Db.fetch_raw` proves which
queries took the compiled path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.clock import Clock
from db.models import Interview, Message, Slot
from resolvers.unit_of_work import Services
from schema.compiled.encodings import cursor, iso, node_id
from schema.ids import encode_cursor, to_global_id
from tests.conftest import clear_response_cache
from tests.helpers import GraphQLClient, Member, db_id
from tests.marketplace_support import new_specialization

USER = "id displayName role timezone bio createdAt __typename"
MESSAGES = "edges { cursor __typename node { id body createdAt __typename } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }"  # noqa: E501
MINE_FULL = f"""query($first: Int, $after: String, $status: [InterviewStatus!], $arch: Boolean,
    $last: Int, $mafter: String, $skipCand: Boolean!, $withTopic: Boolean!) {{
  myInterviews(first: $first, after: $after, status: $status, includeArchived: $arch) {{
    __typename
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor __typename }}
    edges {{ cursor __typename node {{
      __typename id status startsAt endsAt createdAt startedAt completedAt cancelledAt cancelReason
      durationMinutes isArchived
      interviewer {{ {USER} }}
      candidate @skip(if: $skipCand) {{ ...Person }}
      specialization @include(if: $withTopic) {{ id name __typename }}
      ... on Node {{ nodeId: id }}
      latest: messages(last: $last, after: $mafter) {{ {MESSAGES} }}
      oldest: messages(first: 2) {{ {MESSAGES} }}
      nextOnes: messages(first: 2, after: $mafter) {{
        edges {{ node {{ body }} }} pageInfo {{ hasNextPage }} }}
      none: messages(last: 0) {{ {MESSAGES} }}
    }} }}
    again: edges {{ node {{ id interviewer {{ displayName }} }} }}
  }}
}}
fragment Person on User {{ {USER} }}"""
BENCH_MINE = """query Mine($first: Int) { myInterviews(first: $first) { edges { node { id status startsAt
  interviewer { displayName } candidate { displayName } specialization { name }
  messages(last: 5) { edges { node { id body createdAt } } } } } } }"""
BOARD_FULL = f"""query($first: Int, $after: String, $spec: ID, $sa: DateTime, $sb: DateTime) {{
  openSlots(first: $first, after: $after, specializationId: $spec, startsAfter: $sa, startsBefore: $sb) {{
    __typename pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ __typename id startsAt endsAt durationMinutes title description status createdAt
      isOpen host {{ {USER} }} specialization {{ id name }} }} }}
  }}
}}"""


async def both_paths(
    client: GraphQLClient,
    app_state: Services,
    query: str,
    variables: dict[str, Any],
    token: str | None,
    calls: list[str],
) -> tuple[dict[str, Any], bool]:
    """The response (equal on both paths, asserted) and whether the compiled path answered."""
    settings = app_state.settings
    results = []
    before = len(calls)
    for compiled in (True, False):
        settings.compiled_reads = compiled
        clear_response_cache()
        try:
            results.append(await client.execute(query, variables, token=token))
        finally:
            settings.compiled_reads = True
    assert results[0] == results[1]
    return results[0], len(calls) > before


async def _interviews(db_session: AsyncSession, clock: Clock, candidate: Member, hosts: list[Member]) -> str:
    """Six interviews of `candidate` with varied states, times with and without microseconds, and
    0..7 messages; returns the specialization ID."""
    spec = await new_specialization(db_session)
    base = (clock.now() + timedelta(days=1)).replace(microsecond=0)
    micro = (0, 123456, 120000, 1, 999999, 500000)
    for n in range(6):
        start = base + timedelta(hours=n, microseconds=micro[n])
        host = db_id(hosts[n % len(hosts)].id)
        slot = Slot(
            host_id=host,
            specialization_id=db_id(spec),
            starts_at=start,
            ends_at=start + timedelta(minutes=45 + n),
            duration_minutes=45 + n,
            video_link="https://meet.example.com/x",
            status="BOOKED",
        )
        db_session.add(slot)
        await db_session.flush()
        interview = Interview(
            slot_id=slot.id,
            interviewer_id=host,
            candidate_id=db_id(candidate.id),
            specialization_id=slot.specialization_id,
            starts_at=start,
            ends_at=slot.ends_at,
            status=("SCHEDULED", "CANCELLED", "COMPLETED", "SCHEDULED", "IN_PROGRESS", "NO_SHOW")[n],
            cancelled_at=start - timedelta(hours=1) if n == 1 else None,
            cancel_reason="Ill, sorry" if n == 1 else None,
            archived_by_candidate=n == 2,
            archived_by_interviewer=n == 3,
        )
        db_session.add(interview)
        await db_session.flush()
        for m in range(n + 2 if n else 0):
            created = datetime(2026, 1, 1, 12, 0, m, micro[m % 6], tzinfo=UTC)
            db_session.add(
                Message(interview_id=interview.id, author_id=host, body=f"m{n}-{m} ✓", created_at=created)
            )
    await db_session.flush()
    return spec


async def test_my_interviews_compiled_equals_resolver_path(
    client: GraphQLClient,
    db_session: AsyncSession,
    clock: Clock,
    app_state: Services,
    fetch_raw_calls: list[str],
) -> None:
    candidate = await client.sign_up("cand")
    hosts = [await client.sign_up(f"host{i}") for i in range(3)]
    await _interviews(db_session, clock, candidate, hosts)
    token = candidate.access_token
    base = {"skipCand": False, "withTopic": True, "last": 3}
    cases: list[dict[str, Any]] = [
        {},
        {"first": 2},
        {"first": 0},
        {"arch": True},
        {"arch": True, "status": ["SCHEDULED", "CANCELLED"]},
        {"status": ["COMPLETED"], "arch": True},
        {"skipCand": True, "withTopic": False},
        {"last": 0},
        {"last": None, "mafter": encode_cursor(10**9)},
    ]
    result, compiled = await both_paths(client, app_state, MINE_FULL, {**base}, token, fetch_raw_calls)
    assert compiled
    edges = result["data"]["myInterviews"]["edges"]
    assert len(edges) == 5  # one is archived by the candidate
    first_message = edges[0]["node"]["oldest"]["edges"][0]["cursor"]
    cases.append({"mafter": first_message})
    cases.append({"last": 2, "mafter": first_message})
    cases.append({"first": 2, "after": result["data"]["myInterviews"]["pageInfo"]["startCursor"]})
    for case in cases:
        result, compiled = await both_paths(
            client, app_state, MINE_FULL, {**base, **case}, token, fetch_raw_calls
        )
        assert compiled, case
        assert "errors" not in result, (case, result)
    result, compiled = await both_paths(client, app_state, BENCH_MINE, {"first": 20}, token, fetch_raw_calls)
    assert compiled
    assert len(result["data"]["myInterviews"]["edges"]) == 5
    # The host of interviews 0 and 3 sees them from the other side (3 is archived by them).
    host = hosts[0].access_token
    result, compiled = await both_paths(client, app_state, MINE_FULL, base, host, fetch_raw_calls)
    assert compiled
    assert len(result["data"]["myInterviews"]["edges"]) == 1
    result, compiled = await both_paths(
        client, app_state, MINE_FULL, {**base, "arch": True}, host, fetch_raw_calls
    )
    assert compiled
    assert len(result["data"]["myInterviews"]["edges"]) == 2


@pytest.mark.parametrize(
    ("selection", "compiles"),
    [
        ("slot { id title host { displayName } }", True),  # relations declared with `relation`
        ("videoLink", True),  # viewer-dependent, `sql(...)` beside the resolver
        ("interviewer { email points isBlocked blockedUntil }", True),  # private fields
        ("messages(first: 1) { edges { node { author { id } } } }", True),
        ("interviewer { pointsLedger(first: 2) { edges { node { amount } } } }", True),
        # Invalid arguments and fields without a SQL form are holes their resolvers fill; an error in
        # one sends the whole field to the resolver path, which reports it where it belongs.
        ("messages(first: 1000) { edges { cursor } }", True),
        ("messages(first: 1, last: 1) { edges { cursor } }", True),
        ("feedback { rating }", True),
        ("calendarEvent", True),
    ],
)
async def test_my_interviews_compiles_declared_fields_and_falls_back_for_others(
    selection: str,
    compiles: bool,
    client: GraphQLClient,
    db_session: AsyncSession,
    clock: Clock,
    app_state: Services,
    fetch_raw_calls: list[str],
) -> None:
    candidate = await client.sign_up("cand")
    await _interviews(db_session, clock, candidate, [await client.sign_up("host")])
    query = f"{{ myInterviews {{ edges {{ node {{ id {selection} }} }} }} }}"
    result, compiled = await both_paths(client, app_state, query, {}, candidate.access_token, fetch_raw_calls)
    assert compiled is compiles
    assert result["data"] is not None or result["errors"]


async def test_my_interviews_compiled_bad_input_and_auth(
    client: GraphQLClient, app_state: Services, fetch_raw_calls: list[str]
) -> None:
    member = await client.sign_up("lonely")
    result, _ = await both_paths(client, app_state, BENCH_MINE, {"first": 5}, None, fetch_raw_calls)
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    result, _ = await both_paths(
        client, app_state, BENCH_MINE, {"first": 101}, member.access_token, fetch_raw_calls
    )
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    query = '{ myInterviews(after: "bm90IGEgY3Vyc29y") { edges { cursor } } }'
    result, _ = await both_paths(client, app_state, query, {}, member.access_token, fetch_raw_calls)
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    result, compiled = await both_paths(
        client, app_state, BENCH_MINE, {"first": 5}, member.access_token, fetch_raw_calls
    )
    assert compiled
    assert result["data"]["myInterviews"]["edges"] == []


async def test_open_slots_compiled_equals_resolver_path(
    client: GraphQLClient,
    db_session: AsyncSession,
    clock: Clock,
    app_state: Services,
    fetch_raw_calls: list[str],
) -> None:
    viewer = await client.sign_up("viewer")
    hosts = [await client.sign_up(f"host{i}") for i in range(2)]
    spec = await new_specialization(db_session)
    other = await new_specialization(db_session)
    base = clock.now() + timedelta(days=2)
    for n in range(7):
        start = base + timedelta(hours=n, microseconds=(0, 120000, 7)[n % 3])
        db_session.add(
            Slot(
                host_id=db_id(hosts[n % 2].id),
                specialization_id=db_id(spec if n % 2 else other),
                starts_at=start,
                ends_at=start + timedelta(minutes=30),
                duration_minutes=30,
                title=None if n % 3 else f"Slot {n}",
                description="Bring a laptop" if n == 4 else None,
                video_link="https://meet.example.com/x",
                status="WITHDRAWN" if n == 5 else "OPEN",
            )
        )
    await db_session.flush()
    first, compiled = await both_paths(client, app_state, BOARD_FULL, {"first": 3}, None, fetch_raw_calls)
    assert compiled
    cursor = first["data"]["openSlots"]["pageInfo"]["endCursor"]
    cases: list[dict[str, Any]] = [
        {"first": 0},
        {"first": 3, "after": cursor},
        {"spec": spec},
        {"sa": (base + timedelta(hours=2)).isoformat(), "sb": (base + timedelta(hours=5)).isoformat()},
    ]
    for case in cases:
        for token in (None, viewer.access_token):
            result, compiled = await both_paths(client, app_state, BOARD_FULL, case, token, fetch_raw_calls)
            assert compiled, case
            assert "errors" not in result, (case, result)
    withdrawn = await both_paths(
        client,
        app_state,
        "{ openSlots(first: 50) { edges { node { id videoLink } } } }",
        {},
        None,
        fetch_raw_calls,
    )
    assert withdrawn[1]  # videoLink: compiled with the viewer's rule


async def test_sql_encodings_match_python(connection: AsyncConnection) -> None:
    """`iso`, `node_id` and `message_cursor` in SQL give exactly what the resolvers' Python gives."""
    base = datetime(2026, 11, 25, 15, 34, 31, tzinfo=UTC)
    micro = [0, 1, 10, 999, 100000, 120000, 123456, 500000, 999999]
    times = [base + timedelta(microseconds=m, days=d) for m in micro for d in (0, 40, -400)]
    # (datetime.min is -infinity to asyncpg, which no column of ours holds)
    times += [datetime(2, 1, 1, tzinfo=UTC), datetime(999, 12, 31, 23, 59, 59, 5, tzinfo=UTC)]
    times.append(datetime(2026, 3, 29, 2, 30, 0, 250, tzinfo=timedelta_zone(5, 30)))
    ids = [1, 9, 10, 99, 12345, 2**31 + 7, 2**62]
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    rendered = await raw.fetch(f"SELECT t, {iso('t')} AS s FROM unnest($1::timestamptz[]) AS t", times)
    assert [r["s"] for r in rendered] == [t.astimezone(UTC).isoformat() for t in times]
    encoded = await raw.fetch(
        f"SELECT {node_id('Interview', 'k')} AS n, {cursor([('k', False)])} AS c "
        "FROM unnest($1::bigint[]) AS k",
        ids,
    )
    assert [r["n"] for r in encoded] == [to_global_id("Interview", k) for k in ids]
    assert [r["c"] for r in encoded] == [encode_cursor(k) for k in ids]


def timedelta_zone(hours: int, minutes: int) -> Any:
    from datetime import timezone

    return timezone(timedelta(hours=hours, minutes=minutes))


async def test_raw_reads_recover_when_pooled_connections_die(
    committing_client: GraphQLClient, database_url: str
) -> None:
    """The raw-connection reads (viewer lookup, compiled pages) hand a dead connection to
    SQLAlchemy's disconnect handling: after the database drops every pooled connection (as a
    restart does), at most one request fails and the next ones get fresh connections."""
    member = await committing_client.sign_up("survivor")
    query = "{ myInterviews { edges { cursor } } }"
    await committing_client.data(query, token=member.access_token)
    admin = await asyncpg.connect(database_url)
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert killed >= 1
    outcomes = []
    for _ in range(4):
        result = await committing_client.execute(query, token=member.access_token)
        outcomes.append(result["errors"][0]["extensions"]["code"] if result.get("errors") else "ok")
    assert outcomes[1:] == ["ok"] * 3, outcomes
    assert outcomes[0] in ("ok", "SERVICE_UNAVAILABLE"), outcomes  # seen: always the latter
