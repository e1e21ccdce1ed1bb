"""Shared board fan-out (app/ws_fanout.py): one execution per group of identical subscribers."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.clock import Clock
from app.live import fanout as ws_fanout
from resolvers.unit_of_work import Services
from tests.helpers import GraphQLClient
from tests.live.support import BOARD, WsClient
from tests.live.test_websockets import committed_specialization, ws_base  # noqa: F401  # server fixture
from tests.marketplace_support import publish


async def _wait_for(predicate: object, seconds: float = 2.0) -> None:
    assert callable(predicate)
    deadline = asyncio.get_running_loop().time() + seconds
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_identical_subscribers_share_one_group_and_get_the_same_payload(
    ws_base: str,  # noqa: F811
    committing_client: GraphQLClient,
    engine: AsyncEngine,
    clock: Clock,
) -> None:
    host = await committing_client.sign_up("fanhost")
    spec = await committed_specialization(engine)
    groups_before = ws_fanout.group_count()
    sockets = [await WsClient.open(ws_base) for _ in range(12)]
    ids = []
    for ws in sockets:
        await ws.acknowledged()
        ids.append(await ws.subscribe(BOARD, {"spec": spec}))
    await asyncio.sleep(0.2)
    assert ws_fanout.group_count() == groups_before + 1
    slot_id = await publish(
        committing_client, host, spec, (clock.now() + timedelta(days=1)).replace(microsecond=0)
    )
    messages = [await ws.receive() for ws in sockets]
    assert [m["id"] for m in messages] == ids
    assert {m["type"] for m in messages} == {"next"}
    payloads = {json.dumps(m["payload"], sort_keys=True) for m in messages}
    assert len(payloads) == 1
    assert messages[0]["payload"] == {
        "data": {"openSlotsChanged": {"kind": "PUBLISHED", "slot": {"id": slot_id, "videoLink": None}}}
    }
    for ws in sockets:
        await ws.close()
    await _wait_for(lambda: ws_fanout.group_count() == groups_before)


async def test_host_only_video_link_is_not_leaked_to_anonymous_subscribers(
    ws_base: str,  # noqa: F811
    committing_client: GraphQLClient,
    engine: AsyncEngine,
    clock: Clock,
) -> None:
    host = await committing_client.sign_up("linkhost")
    spec = await committed_specialization(engine)
    groups_before = ws_fanout.group_count()
    anonymous = [await WsClient.open(ws_base) for _ in range(3)]
    host_ws = await WsClient.open(ws_base, token=host.access_token)
    for ws in [*anonymous, host_ws]:
        await ws.acknowledged()
        await ws.subscribe(BOARD, {"spec": spec})
    await asyncio.sleep(0.2)
    assert ws_fanout.group_count() == groups_before + 2  # anonymous, and the host's own group
    start = (clock.now() + timedelta(days=1)).replace(microsecond=0)
    slot_id = await publish(committing_client, host, spec, start, videoLink="https://meet.example.com/secret")
    host_data = await host_ws.next_data()
    assert host_data["openSlotsChanged"]["slot"] == {
        "id": slot_id,
        "videoLink": "https://meet.example.com/secret",
    }
    for ws in anonymous:
        data = await ws.next_data()
        assert data["openSlotsChanged"]["slot"] == {"id": slot_id, "videoLink": None}
    for ws in [*anonymous, host_ws]:
        await ws.close()


async def test_completing_the_last_member_stops_the_leader(
    ws_base: str,  # noqa: F811
    engine: AsyncEngine,
) -> None:
    spec = await committed_specialization(engine)
    groups_before, leaders_before = ws_fanout.group_count(), ws_fanout.leader_count()
    first, second = await WsClient.open(ws_base), await WsClient.open(ws_base)
    await first.acknowledged()
    await second.acknowledged()
    one = await first.subscribe(BOARD, {"spec": spec})
    two = await second.subscribe(BOARD, {"spec": spec})
    await _wait_for(lambda: ws_fanout.leader_count() == leaders_before + 1)
    await first.send({"id": one, "type": "complete"})
    await asyncio.sleep(0.1)
    assert ws_fanout.group_count() == groups_before + 1  # the second member still listens
    assert ws_fanout.leader_count() == leaders_before + 1
    await second.send({"id": two, "type": "complete"})
    await _wait_for(lambda: ws_fanout.leader_count() == leaders_before)
    assert ws_fanout.group_count() == groups_before
    await first.close()
    await second.close()


async def test_setting_off_keeps_board_subscribers_on_the_normal_path(
    ws_base: str,  # noqa: F811
    committing_client: GraphQLClient,
    engine: AsyncEngine,
    clock: Clock,
    app_state: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app_state.settings, "ws_shared_fanout", False)
    host = await committing_client.sign_up("offhost")
    spec = await committed_specialization(engine)
    groups_before = ws_fanout.group_count()
    ws = await WsClient.open(ws_base)
    await ws.acknowledged()
    await ws.subscribe(BOARD, {"spec": spec})
    await asyncio.sleep(0.2)
    assert ws_fanout.group_count() == groups_before
    slot_id = await publish(
        committing_client, host, spec, (clock.now() + timedelta(days=1)).replace(microsecond=0)
    )
    assert (await ws.next_data())["openSlotsChanged"]["slot"]["id"] == slot_id
    await ws.close()


async def test_member_that_falls_behind_is_dropped_with_too_slow() -> None:
    group = ws_fanout.Group((0, "q", b"{}", None, ("anonymous",)))
    member = ws_fanout.Member(group, None)  # type: ignore[arg-type]
    for n in range(ws_fanout.QUEUE_SIZE + 5):
        member.push(f'{{"n":{n}}}')
    end = await member.get()  # the queued frames were discarded
    assert isinstance(end, ws_fanout.End)
    assert end.message_type == "next"
    assert end.payload is not None
    error = json.loads(end.payload)["errors"][0]
    assert error["extensions"]["code"] == "SUBSCRIBER_TOO_SLOW"
