"""GraphQL type of chat messages and the `Interview.messages` connection."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import strawberry
from strawberry import relay

from app.core.errors import BadUserInput
from app.core.settings import Settings
from dataloaders.chat import MessagePageKey
from db import models
from resolvers import chat
from schema.accounts.types import User
from schema.compiled.encodings import cursor as cursor_sql
from schema.compiled.mapped import Mapped, relation, sql
from schema.compiled.pages import Page
from schema.context import Info
from schema.ids import encode_cursor, node_keys
from schema.pagination import after_id, build_connection, page_size
from schema.visibility import in_visible_interview


def _empty_connection() -> relay.Connection[Message]:
    empty = relay.PageInfo(has_next_page=False, has_previous_page=False, start_cursor=None, end_cursor=None)
    return relay.Connection(edges=[], page_info=empty)


def message_page_arguments(
    settings: Settings, first: int | None, after: str | None, last: int | None
) -> tuple[int, int | None, bool]:
    """(page size, id after which the page starts, newest first) of `messages(first, after, last)`;
    BAD_USER_INPUT when invalid."""
    if first is not None and last is not None:
        raise BadUserInput("Give `first` or `last`, not both.", field="last")
    if last is not None and not 0 <= last <= settings.max_page_size:
        raise BadUserInput(f"`last` must be between 0 and {settings.max_page_size}.", field="last")
    size = page_size(first, settings) if last is None else last
    return size, after_id(after), last is not None


def message_page_key(
    info: Info, interview_id: int, first: int | None, after: str | None, last: int | None
) -> tuple[MessagePageKey, int]:
    """The loader key and page size of `messages(first, after, last)`; BAD_USER_INPUT when invalid."""
    size, after_key, newest = message_page_arguments(info.context.settings, first, after, last)
    return MessagePageKey(interview_id, size + 1, after_key, newest=newest), size


def _message_page(
    rows: Sequence[Any], size: int, after: str | None, last: int | None
) -> relay.Connection[Message]:
    nodes = [Message.from_row(r) for r in rows]
    if last is None:
        return build_connection(nodes, size, _node_cursor, has_previous=after is not None)
    older = len(nodes) > size
    newest = nodes[max(len(nodes) - size, 0) :] if size else []
    return build_connection(newest, size, _node_cursor, has_previous=older or after is not None)


def _node_cursor(node: Message) -> str:
    return MESSAGES_OLDEST.cursor_of(node.row)


async def message_connection(
    info: Info, interview_id: int, first: int | None, after: str | None, last: int | None
) -> relay.Connection[Message]:
    """One page of a chat through the batched `message_page` loader (one statement per result page)."""
    key, size = message_page_key(info, interview_id, first, after, last)
    rows = await info.context.loaders.message_page.load(key)
    return _message_page(rows, size, after, last)


@strawberry.type(name="Message", description="A chat message in an interview (participants and staff).")
class Message(relay.Node, Mapped, model=models.Message):
    id: relay.NodeID[int]
    body: str
    created_at: datetime
    row: strawberry.Private[Any]
    author: User | None = relation("author_id")

    sql_visible = staticmethod(in_visible_interview)

    @strawberry.field(
        description="This message's place in the chat: the `after` of `messages` and of `messageAdded`, "
        "which then give the messages after it.",
        metadata=sql(lambda s: cursor_sql([(s.column("id"), False)])),
    )
    def cursor(self) -> str:
        return encode_cursor(self.id)

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Message:
        """The message carried in full by a published event (no database read)."""
        row = SimpleNamespace(
            id=int(event["id"]),
            body=str(event["body"]),
            created_at=datetime.fromisoformat(event["created_at"]),
            author_id=int(event["author_id"]),
            interview_id=int(event["interview_id"]),
        )
        return cls.from_row(row)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Message | None]:
        rows = await chat.visible_messages(
            info.context.uow, info.context.optional_viewer(), node_keys(node_ids)
        )
        return [cls.from_row(row) if row else None for row in rows]


def _message_statement(newest: bool) -> Any:
    return lambda **values: chat.message_page_statement(**values, newest=newest)


# `Interview.messages` (compiled beside its resolver in schema/interviews/types.py).
MESSAGES_OLDEST = Page(Message, _message_statement(False), ("id",))
MESSAGES_NEWEST = Page(Message, _message_statement(True), ("id",), descending=True)
