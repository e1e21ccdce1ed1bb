"""A small graphql-transport-ws / graphql-ws client over the `websockets` library (no tests here)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"

BOARD = "subscription($spec: ID) { openSlotsChanged(specializationId: $spec) { kind slot { id videoLink } } }"
INTERVIEW_UPDATED = "subscription($id: ID!) { interviewUpdated(id: $id) { id status } }"
MESSAGE_ADDED = "subscription($id: ID!) { messageAdded(interviewId: $id) { id body author { id } } }"
NOTIFICATION_ADDED = "subscription { notificationAdded { id kind payload readAt } }"


class WsClient:
    """One websocket speaking graphql-transport-ws (or the legacy graphql-ws)."""

    def __init__(self, socket: ClientConnection, protocol: str) -> None:
        self.socket = socket
        self.protocol = protocol

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        token: str | None = None,
        protocol: str = TRANSPORT_WS,
        init: bool = True,
        header_spelling: str = "Authorization",
    ) -> WsClient:
        socket = await websockets.connect(url, subprotocols=[protocol], max_queue=None)  # type: ignore[list-item]
        client = cls(socket, protocol)
        if init:
            payload = {header_spelling: f"Bearer {token}"} if token else {}
            await client.send({"type": "connection_init", "payload": payload})
        return client

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def receive(self, wait: float = 5.0) -> dict[str, Any]:
        """The next protocol message, skipping keep-alives and pings."""
        while True:
            raw = await asyncio.wait_for(self.socket.recv(), wait)
            message: dict[str, Any] = json.loads(raw)
            if message["type"] in ("ka", "ping", "pong"):
                continue
            return message

    async def acknowledged(self, wait: float = 5.0) -> None:
        message = await self.receive(wait)
        assert message["type"] == "connection_ack", message

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        op_id = uuid.uuid4().hex[:8]
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.send(
            {"id": op_id, "type": kind, "payload": {"query": query, "variables": variables or {}}}
        )
        return op_id

    async def next_data(self, wait: float = 5.0) -> dict[str, Any]:
        """The `data` of the next result; fails on errors."""
        message = await self.receive(wait)
        assert message["type"] in ("next", "data"), message
        assert not message["payload"].get("errors"), message
        data: dict[str, Any] = message["payload"]["data"]
        return data

    async def closed_with(self, wait: float = 5.0) -> int | None:
        """Wait for the server to close the socket; its close code."""
        try:
            while True:
                await asyncio.wait_for(self.socket.recv(), wait)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    async def close(self) -> None:
        await self.socket.close()


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/graphql"
