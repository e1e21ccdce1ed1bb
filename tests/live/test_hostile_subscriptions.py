"""Hostile values in subscription arguments over the WebSocket get coded errors (as over HTTP), and the
socket stays usable."""

from __future__ import annotations

import base64

import pytest

from tests.live.support import WsClient
from tests.live.test_websockets import ws_base

__all__ = ["ws_base"]  # the fixture, served by uvicorn for this module too

BOARD_BY_TOPIC = "subscription($s: ID) { openSlotsChanged(specializationId: $s) { kind } }"
CHAT = "subscription($i: ID!) { messageAdded(interviewId: $i) { id } }"
BIG_KEY = base64.b64encode(b"Specialization:18446744073709551616").decode()


@pytest.mark.parametrize("query", [BOARD_BY_TOPIC, CHAT], ids=["shared board", "chat"])
async def test_hostile_subscription_variables_get_coded_errors(ws_base: str, query: str) -> None:
    ws = await WsClient.open(ws_base)
    await ws.acknowledged()
    variable, field = ("s", "specializationId") if query == BOARD_BY_TOPIC else ("i", "interviewId")
    values: list[object] = ["a\x00", "a\ud800", {"x\udfff": 1}]
    if query == BOARD_BY_TOPIC:  # public: its ID is parsed (the chat first wants a signed-in caller)
        values += ["bm90IGFuIGlk", BIG_KEY, 2**70]  # the last: not even a group key for orjson
    for value in values:
        await ws.subscribe(query, {variable: value})
        assert await coded_refusal(ws) == {"code": "BAD_USER_INPUT", "field": field}, value
    await ws.close()


async def coded_refusal(ws: WsClient) -> dict[str, str]:
    """The extensions of a refused subscription (an `error` message, or `next` with errors and then
    `complete`)."""
    message = await ws.receive()
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    if message["type"] == "next":
        assert (await ws.receive())["type"] == "complete"
    else:
        assert message["type"] == "error", message
    extensions: dict[str, str] = errors[0]["extensions"]
    return extensions
