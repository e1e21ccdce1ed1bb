"""GraphQL types of the live feature: chat messages, notifications and open-board events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from db import models
from schema.context import Context
from schema.types.accounts import User

if TYPE_CHECKING:
    from schema.types.marketplace import Slot

Info = strawberry.Info[Context, None]


@strawberry.enum(description="What happened to a slot on the open board.")
class SlotEventKind(Enum):
    PUBLISHED = "PUBLISHED"
    BOOKED = "BOOKED"
    REOPENED = "REOPENED"
    WITHDRAWN = "WITHDRAWN"


@strawberry.enum(description="Why a member was notified.")
class NotificationKind(Enum):
    BOOKED = "BOOKED"
    CANCELLED = "CANCELLED"
    REMINDER = "REMINDER"
    FEEDBACK_RECEIVED = "FEEDBACK_RECEIVED"
    NO_SHOW_RESOLVED = "NO_SHOW_RESOLVED"
    POINTS_CHANGED = "POINTS_CHANGED"


@strawberry.type(description="A change on the open-slot board.")
class SlotEvent:
    kind: SlotEventKind
    slot: Annotated[Slot, strawberry.lazy("schema.types.marketplace")]


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
        from resolvers.chat import visible_messages

        rows = await visible_messages(
            info.context.uow, info.context.optional_viewer(), [int(i) for i in node_ids]
        )
        return [cls.from_row(row) if row else None for row in rows]

    @strawberry.field
    async def author(self, info: Info) -> User | None:
        row = await info.context.loaders.user.load(self.author_id)
        return User.from_row(row) if row else None


@strawberry.type(name="Notification", description="Something the member should know; can be marked read.")
class Notification(relay.Node):
    id: relay.NodeID[int]
    kind: NotificationKind
    payload: JSON
    read_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: models.Notification) -> Notification:
        return cls(
            id=row.id,
            kind=NotificationKind(row.kind),
            payload=cast(JSON, row.payload),
            read_at=row.read_at,
            created_at=row.created_at,
        )

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Notification:
        """The notification carried in full by a published event (no database read)."""
        return cls(
            id=int(event["id"]),
            kind=NotificationKind(event["kind"]),
            payload=cast(JSON, event.get("payload") or {}),
            read_at=None,
            created_at=datetime.fromisoformat(event["created_at"]),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Notification | None]:
        from resolvers.notifications import own_notifications

        rows = await own_notifications(
            info.context.uow, info.context.optional_viewer(), [int(i) for i in node_ids]
        )
        return [cls.from_row(row) if row else None for row in rows]
