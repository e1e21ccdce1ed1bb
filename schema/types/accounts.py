"""Members, specializations, auth payloads and audit entries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import Row
from strawberry import relay
from strawberry.scalars import JSON

from db import models
from schema.context import Context
from schema.enums import Role
from schema.permissions import is_admin

if TYPE_CHECKING:
    from schema.types.marketplace_records import PointsEntry, UserStats

Info = strawberry.Info[Context, None]


@strawberry.type(name="Specialization", description="An interview topic, e.g. 'System design'.")
class Specialization(relay.Node):
    id: relay.NodeID[int]
    name: str

    @classmethod
    def from_row(cls, row: models.Specialization) -> Specialization:
        return cls(id=row.id, name=row.name)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Specialization | None]:
        rows = await info.context.loaders.specialization.load_many([int(i) for i in node_ids])
        return [cls.from_row(row) if row else None for row in rows]


@strawberry.type(name="User", description="A member. Private fields are null for other members.")
class User(relay.Node):
    id: relay.NodeID[int]
    display_name: str
    role: Role
    timezone: str
    bio: str
    created_at: datetime
    email_value: strawberry.Private[str]
    points_value: strawberry.Private[int]
    blocked_at: strawberry.Private[datetime | None]
    blocked_until_value: strawberry.Private[datetime | None]

    @classmethod
    def from_row(cls, row: models.User | Row[Any]) -> User:
        """From an ORM user or a Core row of `dataloaders.accounts.USER_NODE_COLUMNS`."""
        return cls(
            id=row.id,
            display_name=row.display_name,
            role=Role(row.role),
            timezone=row.timezone,
            bio=row.bio,
            created_at=row.created_at,
            email_value=row.email,
            points_value=row.points_balance,
            blocked_at=row.blocked_at,
            blocked_until_value=row.blocked_until,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[User | None]:
        rows = await info.context.loaders.user.load_many([int(i) for i in node_ids])
        return [cls.from_row(row) if row else None for row in rows]

    def is_self_or_admin(self, info: Info) -> bool:
        viewer = info.context.viewer
        return viewer is not None and (viewer.id == self.id or is_admin(info.context))

    @strawberry.field(description="Only for the member themself and admins; null otherwise.")
    def email(self, info: Info) -> str | None:
        return self.email_value if self.is_self_or_admin(info) else None

    @strawberry.field(description="Point balance. Only for the member themself and admins.")
    def points(self, info: Info) -> int | None:
        return self.points_value if self.is_self_or_admin(info) else None

    @strawberry.field(description="Whether the member is blocked now. Only for themself and staff.")
    def is_blocked(self, info: Info) -> bool | None:
        viewer = info.context.viewer
        if viewer is None or (viewer.id != self.id and viewer.role == "MEMBER"):
            return None
        if self.blocked_at is None:
            return False
        until = self.blocked_until_value
        return until is None or until > info.context.now()

    @strawberry.field(description="End of a temporary block. Only for themself and staff.")
    def blocked_until(self, info: Info) -> datetime | None:
        viewer = info.context.viewer
        if viewer is None or (viewer.id != self.id and viewer.role == "MEMBER"):
            return None
        return self.blocked_until_value

    @strawberry.field(description="Topics this member interviews or practises.")
    async def specializations(self, info: Info) -> list[Specialization]:
        loaders = info.context.loaders
        ids = await loaders.user_specialization_ids.load(self.id)
        rows = await loaders.specialization.load_many(ids)
        return [Specialization.from_row(row) for row in rows if row is not None]

    @strawberry.field(description="Interview counts and the average rating received as interviewer.")
    async def stats(
        self, info: Info
    ) -> Annotated[UserStats, strawberry.lazy("schema.types.marketplace_records")]:
        from schema.types.marketplace_records import user_stats

        return await user_stats(info, self.id)

    @strawberry.field(description="Points history, newest first. Only for themself and admins.")
    async def points_ledger(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[Annotated[PointsEntry, strawberry.lazy("schema.types.marketplace_records")]] | None:
        from schema.types.marketplace_records import user_points_ledger

        return await user_points_ledger(info, self.id, first, after)

    @strawberry.field(description="Secret iCalendar feed URL. Only for the member themself.")
    async def calendar_feed_url(self, info: Info) -> str | None:
        from schema.types.marketplace_records import user_calendar_feed_url

        return await user_calendar_feed_url(info, self.id)


@strawberry.type(description="Tokens returned by signUp, logIn and refreshTokens.")
class AuthPayload:
    access_token: str = strawberry.field(description="Short-lived JWT: `Authorization: Bearer ...`.")
    refresh_token: str = strawberry.field(description="Opaque; single use, rotated on refresh.")
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    user: User


@strawberry.type(name="AuditEntry", description="An administrative or security event.")
class AuditEntry(relay.Node):
    id: relay.NodeID[int]
    action: str
    created_at: datetime
    details: JSON
    actor_id: strawberry.Private[int | None]
    target_type: str | None
    target_key: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: models.AuditEntry) -> AuditEntry:
        details: Any = row.details
        return cls(
            id=row.id,
            action=row.action,
            created_at=row.created_at,
            details=details,
            actor_id=row.actor_id,
            target_type=row.target_type,
            target_key=row.target_id,
        )

    @strawberry.field(description="Who did it; null for anonymous or system actions.")
    async def actor(self, info: Info) -> User | None:
        if self.actor_id is None:
            return None
        row = await info.context.loaders.user.load(self.actor_id)
        return User.from_row(row) if row else None

    @strawberry.field(description="Global ID of the object acted on.")
    def target(self) -> strawberry.ID | None:
        if self.target_type is None or self.target_key is None:
            return None
        return strawberry.ID(str(relay.GlobalID(self.target_type, str(self.target_key))))
