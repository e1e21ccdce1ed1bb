"""GraphQL type of notifications."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from app.core.enums import NotificationKind
from db import models
from resolvers.notifications import own_notifications
from schema.context import Info
from schema.ids import node_keys, to_global_id

if TYPE_CHECKING:
    pass


strawberry.enum(NotificationKind, name="NotificationKind", description="Why a member was notified.")

# Keys of stored payloads that hold a database id, and the type whose global ID clients get instead.
PAYLOAD_ID_TYPES = {"interview_id": "Interview", "accused_id": "User"}


@cache
def _camel_case(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def client_payload(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A stored payload (snake_case keys, database ids: `{"interview_id": 5}`) as clients get it
    (camelCase keys, global IDs: `{"interviewId": "SW50ZXJ2aWV3OjU="}`)."""
    shown: dict[str, Any] = {}
    for key, value in stored.items():
        type_name = PAYLOAD_ID_TYPES.get(key)
        if type_name is not None and isinstance(value, int) and not isinstance(value, bool):
            value = to_global_id(type_name, value)
        shown[_camel_case(key)] = value
    return shown


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
            payload=cast(JSON, client_payload(row.payload)),
            read_at=row.read_at,
            created_at=row.created_at,
        )

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Notification:
        """The notification carried in full by a published event (no database read)."""
        return cls(
            id=int(event["id"]),
            kind=NotificationKind(event["kind"]),
            payload=cast(JSON, client_payload(event.get("payload") or {})),
            read_at=None,
            created_at=datetime.fromisoformat(event["created_at"]),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Notification | None]:
        rows = await own_notifications(info.context.uow, info.context.optional_viewer(), node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]
