"""GraphQL types of accounts: the member (`User`), their stats and the auth payload."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import literal_column
from strawberry import relay
from strawberry.dataloader import DataLoader
from strawberry.types.lazy_type import LazyType

from app.core.enums import Role
from app.core.errors import BadUserInput
from dataloaders.accounts import UserRow
from dataloaders.interviews import UserStatsRow
from db import models
from resolvers import points
from resolvers.content import scoring
from schema.calendar.types import user_calendar_feed_url
from schema.compiled.compiler import Scope
from schema.compiled.encodings import iso
from schema.compiled.mapped import Mapped, public, sql
from schema.compiled.pages import NestedPage, Page
from schema.compiled.selection import Unsupported
from schema.context import Info
from schema.ids import node_keys, parse_global_id
from schema.pagination import after_id, page_size
from schema.permissions import is_admin, is_staff
from schema.specializations.types import Specialization

if TYPE_CHECKING:
    from schema.content.types import ProgressPoint
    from schema.points.types import PointsEntry


async def load_user_node(info: Info, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    return await user_node_loader(info).load(user_id)


def user_node_loader(info: Info) -> DataLoader[int, User | None]:
    """Per-request ready-made `User` objects: a view of the request's one user cache (`loaders.user`,
    Core rows), built once per member and cleared with it (`forget(loaders.user, id)`)."""
    return User.node_loader(info)


def user_soon(info: Info, user_id: int) -> Awaitable[User | None]:
    result: Awaitable[User | None] = user_node_loader(info).load(user_id)
    return result


@strawberry.type(description="Profile statistics.")
class UserStats:
    interviews_given: int = strawberry.field(description="Completed interviews as interviewer.")
    interviews_taken: int = strawberry.field(description="Completed interviews as candidate.")
    average_rating: float | None = strawberry.field(
        description="Average rating received as interviewer; null before the first rating."
    )
    no_shows: int = strawberry.field(description="Interviews this member was found absent from.")
    interviewer_cancellations: int = strawberry.field(
        description="Bookings this member cancelled as the interviewer (their reliability record)."
    )

    @classmethod
    def from_row(cls, row: UserStatsRow) -> UserStats:
        return cls(
            interviews_given=row.interviews_given,
            interviews_taken=row.interviews_taken,
            average_rating=row.average_rating,
            no_shows=row.no_shows,
            interviewer_cancellations=row.interviewer_cancellations,
        )


async def user_stats(info: Info, user_id: int) -> UserStats:
    """`User.stats` (public): batched per request."""
    return UserStats.from_row(await info.context.loaders.user_stats.load(user_id))


def _self_or_admin(scope: Scope, value: Callable[[], str]) -> str:
    """`value()` for the member themself and admins, NULL for everyone else (as `is_self_or_admin`);
    called only when someone may see it (its parameters must all be used)."""
    if scope.compiler.is_admin:
        return value()
    if scope.compiler.role is None:
        return "NULL"
    return f"CASE WHEN {scope.column('id')} = {scope.params.viewer()} THEN {value()} END"


def _self_or_staff(scope: Scope, value: Callable[[], str]) -> str:
    """`value()` for the member themself and staff, NULL for everyone else (as `is_self_or_staff`)."""
    if scope.compiler.is_staff:
        return value()
    return _self_or_admin(scope, value)


def _is_blocked_sql(scope: Scope) -> str:
    blocked_at, until = scope.column("blocked_at"), scope.column("blocked_until")
    now = scope.params.now
    return _self_or_staff(
        scope, lambda: f"({blocked_at} IS NOT NULL AND ({until} IS NULL OR {until} > {now()}))"
    )


@cache
def _ledger_page() -> Page:
    # PointsEntry refers back to Interview, which refers to User: resolved by name, not imported.
    entry_type = LazyType("PointsEntry", "schema.points.types").resolve_type()
    return Page(entry_type, points.ledger_statement, ("id",), descending=True)


def _points_ledger_sql(scope: Scope) -> str:
    first, after = scope.argument("first"), scope.argument("after")
    try:
        size, after_key = page_size(first, scope.compiler.settings), after_id(after)
    except BadUserInput as exc:
        raise Unsupported("pointsLedger") from exc  # the resolver reports it
    assert scope.selected is not None
    nested = NestedPage(
        _ledger_page(),
        "user_id",
        size,
        {"after_id": after_key, "limit": size + 1},
        has_previous=after is not None,
    )
    selected = scope.selected
    return _self_or_admin(
        scope, lambda: nested.sql(scope.compiler, literal_column(scope.column("id")), selected)
    )


def _specializations_sql(scope: Scope) -> str:
    """`User.specializations`: the member's topics by id (as `load_user_specialization_ids`)."""
    scope.no_arguments()
    assert scope.selected is not None
    member = scope.column("id")
    topics = f"SELECT us.specialization_id FROM user_specializations us WHERE us.user_id = {member}"  # noqa: S608
    return scope.compiler.related_list(
        Specialization,
        "specializations",
        lambda s: f"{s}.id IN ({topics})",
        lambda s: f"{s}.id",
        scope.selected,
    )


@strawberry.type(name="User", description="A member. Private fields are null for other members.")
class User(relay.Node, Mapped, model=models.User):
    id: relay.NodeID[int]
    display_name: str
    role: Role
    timezone: str
    bio: str
    created_at: datetime
    row: strawberry.Private[models.User | UserRow]
    # The caller themself although the request may carry no token (`AuthPayload.user`): private
    # fields resolve for this object only; the request's viewer stays who it is for everything else.
    viewed_as_self: strawberry.Private[bool] = False

    @classmethod
    def of_caller(cls, row: models.User | UserRow) -> User:
        """The member who just signed up, logged in or refreshed their tokens, as themself."""
        user = cls.from_row(row)
        user.viewed_as_self = True
        return user

    sql_visible = staticmethod(public)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[User | None]:
        return await user_node_loader(info).load_many(node_keys(node_ids))

    def is_self(self, info: Info) -> bool:
        viewer = info.context.viewer
        return self.viewed_as_self or (viewer is not None and viewer.id == self.id)

    def is_self_or_admin(self, info: Info) -> bool:
        return self.is_self(info) or is_admin(info.context)

    def is_self_or_staff(self, info: Info) -> bool:
        return self.is_self(info) or is_staff(info.context)

    @strawberry.field(
        description="Only for the member themself and admins; null otherwise.",
        metadata=sql(lambda s: _self_or_admin(s, lambda: s.column("email"))),
    )
    def email(self, info: Info) -> str | None:
        return self.row.email if self.is_self_or_admin(info) else None

    @strawberry.field(
        description="Point balance. Only for the member themself and admins.",
        metadata=sql(lambda s: _self_or_admin(s, lambda: s.column("points_balance"))),
    )
    def points(self, info: Info) -> int | None:
        return self.row.points_balance if self.is_self_or_admin(info) else None

    @strawberry.field(
        description="Whether the member is blocked now. Only for themself and staff.",
        metadata=sql(_is_blocked_sql),
    )
    def is_blocked(self, info: Info) -> bool | None:
        if not self.is_self_or_staff(info):
            return None
        if self.row.blocked_at is None:
            return False
        until = self.row.blocked_until
        return until is None or until > info.context.now()

    @strawberry.field(
        description="End of a temporary block. Only for themself and staff.",
        metadata=sql(lambda s: _self_or_staff(s, lambda: iso(s.column("blocked_until")))),
    )
    def blocked_until(self, info: Info) -> datetime | None:
        if not self.is_self_or_staff(info):
            return None
        return self.row.blocked_until

    @strawberry.field(
        description="Topics this member interviews or practises.", metadata=sql(_specializations_sql)
    )
    async def specializations(self, info: Info) -> list[Specialization]:
        loaders = info.context.loaders
        ids = await loaders.user_specialization_ids.load(self.id)
        rows = await loaders.specialization.load_many(ids)
        return [Specialization.from_row(row) for row in rows if row is not None]

    @strawberry.field(description="Interview counts and the average rating received as interviewer.")
    async def stats(self, info: Info) -> UserStats:
        return await user_stats(info, self.id)

    @strawberry.field(
        description="Points history, newest first. Only for themself and admins.",
        metadata=sql(_points_ledger_sql),
    )
    async def points_ledger(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[Annotated[PointsEntry, strawberry.lazy("schema.points.types")]] | None:
        if not self.is_self_or_admin(info):
            return None
        size = page_size(first, info.context.settings)
        rows = await points.ledger_entries(
            info.context.uow, self.id, after_id=after_id(after), limit=size + 1
        )
        return _ledger_page().connection(rows, size, has_previous=after is not None)

    @strawberry.field(
        description="Scored interviews taken as candidate, oldest first, in one specialization or in "
        "all: scores over time. Only for the member themself and staff; empty for others."
    )
    async def progress(
        self, info: Info, specialization_id: strawberry.ID | None = None
    ) -> list[Annotated[ProgressPoint, strawberry.lazy("schema.content.types")]]:
        spec = (
            parse_global_id(specialization_id, "Specialization", field="specializationId")
            if specialization_id is not None
            else None
        )
        if not self.is_self_or_staff(info):
            return []
        rows = await scoring.progress(info.context.uow, self.id, spec)
        # ProgressPoint refers to Interview, which refers to User: resolved by name, not imported.
        point_type = LazyType("ProgressPoint", "schema.content.types").resolve_type()
        return [point_type.from_row(r) for r in rows]

    @strawberry.field(description="Secret iCalendar feed URL. Only for the member themself.")
    async def calendar_feed_url(self, info: Info) -> str | None:
        return await user_calendar_feed_url(info, self.id, is_self=self.is_self(info))


@strawberry.type(description="Tokens returned by signUp, logIn and refreshTokens.")
class AuthPayload:
    access_token: str = strawberry.field(description="Short-lived JWT: `Authorization: Bearer ...`.")
    refresh_token: str = strawberry.field(description="Opaque; single use, rotated on refresh.")
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    user: User = strawberry.field(
        description="The member these tokens belong to, as themself: private fields (`email`, `points`, "
        "`calendarFeedUrl`, ...) are filled in although this request carried no token."
    )
