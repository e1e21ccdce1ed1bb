"""The per-process cache of live sessions (app/core/session_cache.py): when it may answer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from app.core.events import InProcessHub
from app.core.session_cache import SessionCache

CHANNEL = "access"


@pytest.fixture
async def following() -> AsyncIterator[tuple[SessionCache, InProcessHub, asyncio.Task[None]]]:
    hub = InProcessHub()
    await hub.start()
    cache = SessionCache(ttl_seconds=5)
    task = asyncio.create_task(cache.follow(hub, CHANNEL))
    while not cache.usable:  # noqa: ASYNC110  # subscribed on the next loop turn
        await asyncio.sleep(0)
    yield cache, hub, task
    task.cancel()
    await hub.stop()


async def test_remembers_live_sessions_until_the_member_changes(
    following: tuple[SessionCache, InProcessHub, asyncio.Task[None]],
) -> None:
    cache, hub, _ = following
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    assert not cache.is_live(mine, 1)
    cache.remember(mine, 1, cache.generation)
    cache.remember(theirs, 2, cache.generation)
    assert cache.is_live(mine, 1)
    assert not cache.is_live(mine, 2)  # a session belongs to one member
    await hub.publish(CHANNEL, {"kind": "SESSIONS_REVOKED", "userId": 1, "sessions": [str(mine)]})
    await asyncio.sleep(0)
    assert not cache.is_live(mine, 1)
    assert cache.is_live(theirs, 2)  # other members' entries stay


async def test_a_lookup_that_raced_an_invalidation_is_not_stored(
    following: tuple[SessionCache, InProcessHub, asyncio.Task[None]],
) -> None:
    cache, _, _ = following
    session = uuid.uuid4()
    before = cache.generation  # the request reads the database ...
    cache.forget_member(7)  # ... while a revocation of that member commits
    cache.remember(session, 7, before)
    assert not cache.is_live(session, 7)


async def test_expired_entries_and_a_disconnected_hub_answer_nothing(
    following: tuple[SessionCache, InProcessHub, asyncio.Task[None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, hub, _ = following
    session = uuid.uuid4()
    cache.remember(session, 3, cache.generation)
    monkeypatch.setattr(InProcessHub, "connected", property(lambda self: False))
    assert not cache.is_live(session, 3)
    monkeypatch.undo()
    monkeypatch.setattr(hub, "reconnects", 1)  # messages may have been lost meanwhile: all dropped
    assert not cache.is_live(session, 3)
    assert len(cache) == 0
    short = SessionCache(ttl_seconds=0)
    short._hub, short._ready = hub, True
    short.remember(session, 3, short.generation)  # a TTL of 0 stores nothing
    assert not short.is_live(session, 3)


async def test_unusable_until_following_the_hub() -> None:
    cache = SessionCache(ttl_seconds=5)
    session = uuid.uuid4()
    cache.remember(session, 1, cache.generation)
    assert not cache.is_live(session, 1)
