"""GraphQL type of notifications."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from types import SimpleNamespace
from typing import Any, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from app.core.enums import NotificationKind
from db import models
from resolvers.notifications import notifications_statement, own_notifications
from schema.compiled.compiler import Scope
from schema.compiled.encodings import cursor as cursor_sql
from schema.compiled.mapped import Mapped, sql
from schema.compiled.pages import Page
from schema.context import Info
from schema.ids import encode_cursor, node_keys, to_global_id
from schema.visibility import owner

strawberry.enum(NotificationKind, name="NotificationKind", description="Why a member was notified.")

# Keys of stored payloads that hold a database id, and the type whose global ID clients get instead.
# The SQL form, `notification_client_payload` (migration 0009), names them too: a later change adds a
# migration that replaces that function (tests/notifications/test_client_payload.py holds them equal).
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


def _payload_sql(scope: Scope) -> str:
    """`client_payload` in SQL: the generated column of the same name (migration 0009)."""
    scope.no_arguments()
    return scope.column("client_payload")


@strawberry.type(name="Notification", description="Something the member should know; can be marked read.")
class Notification(relay.Node, Mapped, model=models.Notification):
    id: relay.NodeID[int]
    kind: NotificationKind
    read_at: datetime | None
    created_at: datetime
    row: strawberry.Private[Any]

    sql_visible = staticmethod(owner)

    @strawberry.field(metadata=sql(_payload_sql))
    def payload(self) -> JSON:
        return cast(JSON, client_payload(self.row.payload))

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Notification:
        """The notification carried in full by a published event (no database read)."""
        return cls(
            id=int(event["id"]),
            kind=NotificationKind(event["kind"]),
            read_at=None,
            created_at=datetime.fromisoformat(event["created_at"]),
            row=SimpleNamespace(payload=event.get("payload") or {}),
        )

    @strawberry.field(
        description="This notification's place in the viewer's feed: the `after` of `notificationAdded`, "
        "which then gives the notifications after it.",
        metadata=sql(lambda s: cursor_sql([(s.column("id"), False)])),
    )
    def cursor(self) -> str:
        return encode_cursor(self.id)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Notification | None]:
        rows = await own_notifications(info.context.uow, info.context.optional_viewer(), node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]


# `Query.notifications`: the same statement on both paths (resolvers/notifications.py).
NOTIFICATIONS = Page(Notification, notifications_statement, ("id",), descending=True)
