"""The anonymous board response cache never serves a board older than the last slot write."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from app.core.clock import Clock
from app.http.factory import create_app
from app.http.response_cache import ResponseCache
from resolvers.unit_of_work import Services
from schema.context import Context
from tests.conftest import make_settings
from tests.helpers import GraphQLClient, Member
from tests.marketplace_support import BOOK_SLOT, CANCEL, WITHDRAW_SLOT, grant, publish

BOARD = """query Board($first: Int) { openSlots(first: $first) { edges { node {
  id startsAt host { displayName } specialization { name } } } } }"""
SPECS = "{ specializations { id name } }"


def cache_of(app: Starlette) -> ResponseCache:
    cache: ResponseCache | None = app.state.response_cache
    assert cache is not None
    return cache


async def wait_usable(cache: ResponseCache) -> None:
    for _ in range(200):
        if cache.usable:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("response cache never subscribed to slot events")


async def board_ids(client: GraphQLClient, first: int = 50) -> list[str]:
    data = await client.data(BOARD, {"first": first})
    return [edge["node"]["id"] for edge in data["openSlots"]["edges"]]


async def committed_spec(engine: AsyncEngine) -> str:
    from sqlalchemy.ext.asyncio import AsyncSession

    from tests.marketplace_support import new_specialization

    async with AsyncSession(engine) as session:
        spec = await new_specialization(session)
        await session.commit()
    return spec


async def committed_grant(engine: AsyncEngine, member: Member, amount: int) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession

    async with AsyncSession(engine) as session:
        await grant(session, member, amount)
        await session.commit()


def start(clock: Clock, hours: float) -> datetime:
    return (clock.now() + timedelta(days=1, hours=hours)).replace(microsecond=0)


async def test_repeated_anonymous_reads_are_served_from_the_cache(
    app: Starlette, committing_client: GraphQLClient, engine: AsyncEngine, clock: Clock
) -> None:
    cache = cache_of(app)
    await wait_usable(cache)
    host = await committing_client.sign_up("host")
    spec = await committed_spec(engine)
    slot = await publish(committing_client, host, spec, start(clock, 1))
    hits = cache.hits
    first = await committing_client.execute(BOARD, {"first": 5})
    assert [e["node"]["id"] for e in first["data"]["openSlots"]["edges"]] == [slot]
    again = await committing_client.execute(BOARD, {"first": 5})
    assert again == first
    assert cache.hits == hits + 1
    # Another page size is another entry; so is another spelling only when it means something else.
    await committing_client.execute(BOARD, {"first": 6})
    assert cache.hits == hits + 1
    spaced = BOARD.replace("{ edges", "{   edges")
    assert await committing_client.execute(spaced, {"first": 5}) == first
    assert cache.hits == hits + 2


async def test_no_stale_board_after_any_slot_write(
    app: Starlette, committing_client: GraphQLClient, engine: AsyncEngine, clock: Clock
) -> None:
    await wait_usable(cache_of(app))
    client = committing_client
    host, candidate = await client.sign_up("host"), await client.sign_up("cand")
    await committed_grant(engine, candidate, 5)
    spec = await committed_spec(engine)
    assert await board_ids(client) == []

    a = await publish(client, host, spec, start(clock, 1))  # createSlot
    assert await board_ids(client) == [a]
    b = await publish(client, host, spec, start(clock, 3))
    assert await board_ids(client) == [a, b]
    assert await board_ids(client) == [a, b]  # cached now

    interview = (await client.data(BOOK_SLOT, {"id": a}, token=candidate.access_token))["bookSlot"]
    assert await board_ids(client) == [b]  # bookSlot

    await client.data(WITHDRAW_SLOT, {"id": b}, token=host.access_token)
    assert await board_ids(client) == []  # withdrawSlot

    await client.data(CANCEL, {"id": interview["id"], "r": "sick"}, token=candidate.access_token)
    assert await board_ids(client) == [a]  # cancel reopens the slot


async def test_responses_that_must_not_be_cached(
    app: Starlette, committing_client: GraphQLClient, engine: AsyncEngine, clock: Clock
) -> None:
    cache = cache_of(app)
    await wait_usable(cache)
    client = committing_client
    host = await client.sign_up("host")
    spec = await committed_spec(engine)
    await publish(client, host, spec, start(clock, 1))
    cache.clear()
    # Signed-in readers, errors, mixed documents and other root fields are never stored.
    await client.data(BOARD, {"first": 5}, token=host.access_token)
    await client.execute(BOARD, {"first": "five"})
    await client.execute("{ openSlots(first: 5) { edges { node { id } } } me { id } }")
    await client.execute("{ openSlots(first: 500) { edges { node { id } } } }")
    await client.execute("query A { specializations { id } } query B { specializations { name } }")
    assert len(cache) == 0
    await client.data(SPECS)
    await client.data("query A { specializations { id } } query B { openSlots { edges { node { id } } } }")
    assert len(cache) == 1


async def test_entries_expire_when_their_earliest_slot_starts(
    app: Starlette, committing_client: GraphQLClient, engine: AsyncEngine, clock: Clock
) -> None:
    cache = cache_of(app)
    await wait_usable(cache)
    client = committing_client
    host = await client.sign_up("host")
    spec = await committed_spec(engine)
    soon = await publish(client, host, spec, start(clock, 1))
    later = await publish(client, host, spec, start(clock, 5))
    assert await board_ids(client) == [soon, later]
    assert await board_ids(client) == [soon, later]
    clock.shift(timedelta(days=1, hours=2))  # `soon` has started; no event says so
    assert await board_ids(client) == [later]


async def test_hub_trouble_clears_the_cache(
    app: Starlette, committing_client: GraphQLClient, app_state: Services
) -> None:
    cache = cache_of(app)
    await wait_usable(cache)
    await committing_client.data(SPECS)
    assert len(cache) == 1
    # Ending the subscription (as SubscriberTooSlow or a hub restart would) drops everything.
    app_state.hub.close_channel(f"{app_state.settings.redis_prefix}slots")
    await asyncio.sleep(0)
    assert len(cache) == 0
    await wait_usable(cache)


async def test_a_read_overlapping_an_invalidation_is_not_stored(
    app: Starlette, committing_client: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = cache_of(app)
    await wait_usable(cache)
    original = Context.note_expiry

    def invalidate_meanwhile(context: Context, starts: Any) -> None:
        cache.clear()  # a slot event arrives while this read is running
        original(context, starts)

    monkeypatch.setattr(Context, "note_expiry", invalidate_meanwhile)
    await board_ids(committing_client)
    assert len(cache) == 0
    monkeypatch.setattr(Context, "note_expiry", original)
    await board_ids(committing_client)
    assert len(cache) == 1


@pytest.fixture
async def second_app(
    app: Starlette, database_url: str, redis_url: str, clock: Clock
) -> AsyncIterator[Starlette]:
    """Another instance on the same database and Redis, with the same channel prefix."""
    prefix = app.state.services.settings.redis_prefix
    other = create_app(make_settings(database_url, redis_url, redis_prefix=prefix), clock=clock)
    async with other.router.lifespan_context(other):
        yield other


async def test_two_instances_sharing_redis(
    app: Starlette,
    second_app: Starlette,
    committing_client: GraphQLClient,
    engine: AsyncEngine,
    clock: Clock,
    redis_url: str,
) -> None:
    if not redis_url:
        pytest.skip("needs Redis")
    other_cache = cache_of(second_app)
    await wait_usable(cache_of(app))
    await wait_usable(other_cache)
    transport = httpx.ASGITransport(app=second_app, client=("203.0.113.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        other = GraphQLClient(http)
        host = await committing_client.sign_up("host")
        spec = await committed_spec(engine)
        assert await board_ids(other) == []
        assert await board_ids(other) == []
        assert len(other_cache) == 1
        generation = other_cache.generation
        slot = await publish(committing_client, host, spec, start(clock, 1))  # through the first instance
        # Redis pub/sub delivers the event to the other instance asynchronously (sub-millisecond here).
        await wait_for(lambda: other_cache.generation > generation)
        assert await board_ids(other) == [slot]
        await committing_client.data(WITHDRAW_SLOT, {"id": slot}, token=host.access_token)
        assert await board_ids(committing_client) == []
        await wait_for(lambda: len(other_cache) == 0)
        assert await board_ids(other) == []


async def wait_for(condition: Any) -> None:
    deadline = asyncio.get_running_loop().time() + 5.0
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def test_concurrent_identical_misses_are_computed_once(
    app: Starlette, committing_client: GraphQLClient, engine: AsyncEngine, clock: Clock
) -> None:
    cache = cache_of(app)
    await wait_usable(cache)
    host = await committing_client.sign_up("host")
    spec = await committed_spec(engine)
    slot = await publish(committing_client, host, spec, start(clock, 1))
    misses = cache.misses
    boards = await asyncio.gather(*(board_ids(committing_client) for _ in range(6)))
    assert boards == [[slot]] * 6
    assert cache.misses == misses + 1


async def test_redis_disconnect_bypasses_and_reconnect_clears(clock: Clock) -> None:
    class FakeHub:
        connected = True
        reconnects = 0

    from app.http.response_cache import _Entry

    hub = FakeHub()
    cache = ResponseCache(clock, ttl_seconds=60, max_entries=4)
    cache._hub, cache._ready = hub, True  # type: ignore[assignment]  # as `follow` leaves them
    assert cache.usable
    cache.put(b"k", _Entry([], b"{}", float("inf"), None))
    hub.connected = False  # events published now are lost to this instance
    assert not cache.usable
    hub.connected, hub.reconnects = True, 1
    assert cache.usable
    assert len(cache) == 0
