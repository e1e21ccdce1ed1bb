"""Relay connections with keyset pagination (`first`/`after`, at most `max_page_size` per page)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from strawberry import relay

from app.core.errors import BadUserInput
from app.core.settings import Settings

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
