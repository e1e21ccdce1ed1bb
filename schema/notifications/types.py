"""GraphQL type of notifications."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from db import models
from schema.context import Info

if TYPE_CHECKING:
    pass


@strawberry.enum(description="Why a member was notified.")
class NotificationKind(Enum):
    BOOKED = "BOOKED"
    CANCELLED = "CANCELLED"
    REMINDER = "REMINDER"
    FEEDBACK_RECEIVED = "FEEDBACK_RECEIVED"
    NO_SHOW_RESOLVED = "NO_SHOW_RESOLVED"
    POINTS_CHANGED = "POINTS_CHANGED"


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
