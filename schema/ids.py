"""Opaque Relay global IDs ("Type:key", base64) and keyset cursors: the one parser of each.

Both come from clients, so both are parsed strictly: anything but what `to_global_id` and
`encode_cursor` make is BAD_USER_INPUT naming the argument. Keys are decimal integers within
PostgreSQL's bigint range and cursor timestamps pass the DateTime check, so a parsed value can
never fail in the database.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from strawberry import relay

from app.core.errors import BadUserInput, NotFound
from schema.inputs import checked_datetime

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
MAX_ID_LENGTH = 200
MAX_CURSOR_LENGTH = 400  # ours are under 100 characters; this also bounds the JSON's nesting
_TYPE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
_KEY = re.compile(r"-?[0-9]{1,20}")


def to_global_id(type_name: str, key: int) -> str:
    return str(relay.GlobalID(type_name, str(key)))


def _key(text: str, field: str) -> int:
    if not _KEY.fullmatch(text):
        raise BadUserInput("Malformed ID.", field=field)
    key = int(text)
    if not BIGINT_MIN <= key <= BIGINT_MAX:
        raise BadUserInput("Malformed ID: its key is out of range.", field=field)
    return key


def decode_global_id(value: str, *, field: str = "id") -> tuple[str, int]:
    """(type name, key) of a global ID shaped as `to_global_id` makes them; BAD_USER_INPUT otherwise."""
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH:
        raise BadUserInput("Malformed ID.", field=field)
    try:
        text = base64.b64decode(value, validate=True).decode()
    except ValueError as exc:  # not ASCII, not base64, not UTF-8
        raise BadUserInput("Malformed ID.", field=field) from exc
    type_name, _, key = text.partition(":")
    if not _TYPE_NAME.fullmatch(type_name):
        raise BadUserInput("Malformed ID.", field=field)
    return type_name, _key(key, field)


def parse_global_id(value: str, expected_type: str, *, field: str = "id") -> int:
    """The integer key inside a global ID of `expected_type`.

    Malformed IDs and IDs of another type are BAD_USER_INPUT naming `field`; a well-formed ID that
    can name no row (key <= 0) is NOT_FOUND, like one whose row does not exist.
    """
    type_name, key = decode_global_id(value, field=field)
    if type_name != expected_type:
        raise BadUserInput(f"Expected the ID of an object of type {expected_type}.", field=field)
    if key <= 0:
        raise NotFound(f"No {expected_type} with this ID.")
    return key


def node_keys(node_ids: Iterable[str]) -> list[int]:
    """The keys `resolve_nodes` receives (`node` passes only keys `decode_global_id` accepted)."""
    return [_key(str(node_id), "id") for node_id in node_ids]


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode()


def decode_cursor(
    cursor: str, shape: tuple[type[int] | type[datetime], ...], *, field: str = "after"
) -> tuple[Any, ...]:
    """The keyset values inside `cursor` (as `encode_cursor` makes them), one per entry of `shape`:
    `int` a bigint, `datetime` an ISO timestamp passing the DateTime check. BAD_USER_INPUT otherwise."""
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH:
        raise BadUserInput("Malformed cursor.", field=field)
    try:
        values = json.loads(base64.b64decode(cursor, altchars=b"-_", validate=True))
    except ValueError as exc:  # not ASCII, not base64, not UTF-8, not JSON
        raise BadUserInput("Malformed cursor.", field=field) from exc
    if not isinstance(values, list) or len(values) != len(shape):
        raise BadUserInput("Malformed cursor.", field=field)
    return tuple(_cursor_value(value, kind, field) for value, kind in zip(values, shape, strict=True))


def _cursor_value(value: Any, kind: type[int] | type[datetime], field: str) -> int | datetime:
    if kind is int:
        if type(value) is not int or not BIGINT_MIN <= value <= BIGINT_MAX:  # not bool, not float
            raise BadUserInput("Malformed cursor.", field=field)
        return value
    try:
        if type(value) is not str:
            raise ValueError("not a timestamp")
        return checked_datetime(datetime.fromisoformat(value), field)
    except (ValueError, BadUserInput) as exc:
        raise BadUserInput("Malformed cursor.", field=field) from exc
