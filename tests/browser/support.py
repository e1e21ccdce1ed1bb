"""Helpers of the browser tests: GraphQL over HTTP, members, slots published until seen."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.marketplace_support import CREATE_SLOT, slot_input

VIDEO_LINK = "https://meet.example.com/room-1"  # slot_input's; only the host and staff see it
_slots = itertools.count(1)


def gql(base: str, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> Any:
    """The `data` of an error-free GraphQL result, over HTTP."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        f"{base}/graphql", json={"query": query, "variables": variables or {}}, headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]


SIGN_UP = """mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id } } }"""


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    token: str


def sign_up(base: str, name: str) -> Account:
    email = f"{name}-{secrets.token_hex(4)}@example.com"
    variables = {"input": {"email": email, "password": "correct horse battery", "displayName": name}}
    payload = gql(base, SIGN_UP, variables)["signUp"]
    return Account(payload["user"]["id"], email, payload["accessToken"])


@dataclass(frozen=True)
class Board:
    """A specialization made by an admin over the API, and a member who publishes slots in it."""

    specialization_id: str
    specialization_name: str
    host: Account


def publish(base: str, board: Board) -> str:
    """A new open slot of `board.host` in the board's specialization; its ID."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2, hours=2 * next(_slots))
    variables = {"input": slot_input(board.specialization_id, start)}
    slot_id: str = gql(base, CREATE_SLOT, variables, board.host.token)["createSlot"]["id"]
    return slot_id


def publish_until_seen(
    base: str, board: Board, seen: Callable[[list[str]], bool], *, attempts: int = 3, wait: float = 8
) -> list[str]:
    """Publish slots until `seen(published IDs)` holds (a subscribe may land just after a publish).

    Returns the IDs published; fails after `attempts` slots were each given `wait` seconds.
    """
    published: list[str] = []
    for _ in range(attempts):
        published.append(publish(base, board))
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if seen(published):
                return published
            time.sleep(0.2)
    raise AssertionError(f"no live event for any of the published slots {published}")
