"""Relay connections with keyset pagination (`first`/`after`, at most `max_page_size` per page)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from strawberry import relay

from app.core.errors import BadUserInput
from app.core.settings import Settings
from schema.ids import decode_cursor, encode_cursor

NodeT = TypeVar("NodeT", bound=relay.Node)


def page_size(first: int | None, settings: Settings) -> int:
    """Validated page size: default when omitted, 0..max_page_size otherwise."""
    if first is None:
        return settings.default_page_size
    if first < 0 or first > settings.max_page_size:
        raise BadUserInput(f"`first` must be between 0 and {settings.max_page_size}.", field="first")
    return first


def build_connection(
    rows: Sequence[NodeT], size: int, cursor_of: Callable[[NodeT], str], *, has_previous: bool
) -> relay.Connection[NodeT]:
    """A connection from `rows` fetched with LIMIT size + 1 (the extra row only signals a next page)."""
    page = list(rows[:size])
    edges = [relay.Edge(cursor=cursor_of(node), node=node) for node in page]
    return relay.Connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=len(rows) > size,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


def id_cursor(node: Any) -> str:
    """Keyset cursor of a node ordered by id."""
    return encode_cursor(node.id)


def after_id(after: str | None) -> int | None:
    """The id inside a cursor made by `id_cursor` (`encode_cursor(id)`), for every id-ordered list."""
    if after is None:
        return None
    key: int
    (key,) = decode_cursor(after, (int,))
    return key


def _keyset_cursor(after: str | None) -> tuple[datetime, int] | None:
    """(starts_at, id) from a cursor made by `_record_cursor` / `encode_cursor(starts_at.isoformat(), id)`."""
    if after is None:
        return None
    starts_at, key = decode_cursor(after, (datetime, int))
    return starts_at, key


def _record_cursor(record: Any) -> str:
    return encode_cursor(record["starts_at"].isoformat(), record["id"])
