"""Opaque Relay global IDs ("Type:key", base64) and keyset cursors."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from strawberry import relay

from app.core.errors import BadUserInput, NotFound


def to_global_id(type_name: str, key: int) -> str:
    return str(relay.GlobalID(type_name, str(key)))


def parse_global_id(value: str, expected_type: str, *, field: str = "id") -> int:
    """The integer key inside a global ID of `expected_type`.

    Malformed IDs are BAD_USER_INPUT; a well-formed ID of another type names nothing of this
    type, so it is NOT_FOUND.
    """
    try:
        global_id = relay.GlobalID.from_id(value)
        key = int(global_id.node_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadUserInput("Malformed ID.", field=field) from exc
    if global_id.type_name != expected_type or key <= 0 or key > 2**63 - 1:
        raise NotFound(f"No {expected_type} with this ID.")
    return key


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """The keyset values inside `cursor`; BAD_USER_INPUT when it is not one of ours."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error) as exc:
        raise BadUserInput("Malformed cursor.", field="after") from exc
    if not isinstance(values, list) or len(values) != arity:
        raise BadUserInput("Malformed cursor.", field="after")
    return values
