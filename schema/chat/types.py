"""GraphQL type of chat messages and the `Interview.messages` connection."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from app.core.errors import BadUserInput
from dataloaders.chat import MessagePageKey
from db import models
from resolvers import chat
from schema.accounts.types import User
from schema.context import Info
from schema.ids import node_keys
from schema.pagination import after_id, build_connection, page_size


def _message_cursor(node: Message) -> str:
    # encode_cursor(node.id) without json.dumps: "[<id>]" is its JSON for an int (checked in tests).
    return base64.urlsafe_b64encode(b"[%d]" % node.id).decode()


def _empty_connection() -> relay.Connection[Message]:
    empty = relay.PageInfo(has_next_page=False, has_previous_page=False, start_cursor=None, end_cursor=None)
    return relay.Connection(edges=[], page_info=empty)


def message_page_key(
    info: Info, interview_id: int, first: int | None, after: str | None, last: int | None
) -> tuple[MessagePageKey, int]:
    """The loader key and page size of `messages(first, after, last)`; BAD_USER_INPUT when invalid."""
    settings = info.context.settings
    if first is not None and last is not None:
        raise BadUserInput("Give `first` or `last`, not both.", field="last")
    if last is not None and not 0 <= last <= settings.max_page_size:
        raise BadUserInput(f"`last` must be between 0 and {settings.max_page_size}.", field="last")
    size = page_size(first, settings) if last is None else last
    return MessagePageKey(interview_id, size + 1, after_id(after), newest=last is not None), size


def _message_page(
    rows: Sequence[Any], size: int, after: str | None, last: int | None
) -> relay.Connection[Message]:
    nodes = [
        Message(
            id=r.id, body=r.body, created_at=r.created_at, author_id=r.author_id, interview_id=r.interview_id
        )
        for r in rows
    ]
    if last is None:
        return build_connection(nodes, size, _message_cursor, has_previous=after is not None)
    older = len(nodes) > size
    newest = nodes[max(len(nodes) - size, 0) :] if size else []
    return build_connection(newest, size, _message_cursor, has_previous=older or after is not None)


async def message_connection(
    info: Info, interview_id: int, first: int | None, after: str | None, last: int | None
) -> relay.Connection[Message]:
    """One page of a chat through the batched `message_page` loader (one statement per result page)."""
    key, size = message_page_key(info, interview_id, first, after, last)
    rows = await info.context.loaders.message_page.load(key)
    return _message_page(rows, size, after, last)


@strawberry.type(name="Message", description="A chat message in an interview (participants and staff).")
class Message(relay.Node):
    id: relay.NodeID[int]
    body: str
    created_at: datetime
    author_id: strawberry.Private[int]
    interview_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: models.Message) -> Message:
        return cls(
            id=row.id,
            body=row.body,
            created_at=row.created_at,
            author_id=row.author_id,
            interview_id=row.interview_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Message | None]:
        rows = await chat.visible_messages(
            info.context.uow, info.context.optional_viewer(), node_keys(node_ids)
        )
        return [cls.from_row(row) if row else None for row in rows]

    @strawberry.field
    async def author(self, info: Info) -> User | None:
        row = await info.context.loaders.user.load(self.author_id)
        return User.from_row(row) if row else None
