"""GraphQL types for no-show reports, the points ledger and profile statistics."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum

import strawberry
from sqlalchemy import select
from strawberry import relay

from dataloaders.marketplace import UserStatsRow
from db import models
from resolvers import points
from resolvers.calendar import feed_url
from resolvers.interviews.access import can_view_interview
from schema.context import Context
from schema.ids import decode_cursor, encode_cursor
from schema.pagination import build_connection, page_size
from schema.permissions import is_admin, is_staff
from schema.types.accounts import User
from schema.types.marketplace import Interview

Info = strawberry.Info[Context, None]


@strawberry.enum(description="Why a balance changed.")
class PointsKind(Enum):
    GRANT = "GRANT"
    SPEND = "SPEND"
    REFUND = "REFUND"
    REWARD = "REWARD"
    PENALTY = "PENALTY"
    ADJUSTMENT = "ADJUSTMENT"


@strawberry.enum(description="State of a no-show report.")
class NoShowStatus(Enum):
    OPEN = "OPEN"
    UPHELD = "UPHELD"
    REJECTED = "REJECTED"


async def _visible_interview(info: Info, interview_id: int | None) -> Interview | None:
    if interview_id is None:
        return None
    row = await info.context.loaders.interview.load(interview_id)
    if row is None or not can_view_interview(info.context.viewer, row):
        return None
    return Interview.from_row(row)


async def _user(info: Info, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    row = await info.context.loaders.user.load(user_id)
    return User.from_row(row) if row else None


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


@strawberry.type(name="PointsEntry", description="One append-only change of a member's balance.")
class PointsEntry(relay.Node):
    id: relay.NodeID[int]
    amount: int = strawberry.field(description="Signed: negative for spends and penalties.")
    kind: PointsKind
    reason: str | None
    created_at: datetime
    balance_after: int
    user_id: strawberry.Private[int]
    interview_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: models.PointsEntry) -> PointsEntry:
        return cls(
            id=row.id,
            amount=row.amount,
            kind=PointsKind(row.kind),
            reason=row.reason,
            created_at=row.created_at,
            balance_after=row.balance_after,
            user_id=row.user_id,
            interview_id=row.interview_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[PointsEntry | None]:
        ids = [int(i) for i in node_ids]
        viewer = info.context.viewer
        statement = select(models.PointsEntry).where(models.PointsEntry.id.in_(ids))
        by_id = {row.id: row for row in (await info.context.db.execute(statement)).scalars()}
        return [
            cls.from_row(by_id[i])
            if i in by_id and viewer is not None and (by_id[i].user_id == viewer.id or is_admin(info.context))
            else None
            for i in ids
        ]

    @strawberry.field(description="The interview this entry pays for, if any.")
    async def interview(self, info: Info) -> Interview | None:
        return await _visible_interview(info, self.interview_id)


@strawberry.type(name="NoShowReport", description="A participant's report that the other did not show up.")
class NoShowReport(relay.Node):
    id: relay.NodeID[int]
    status: NoShowStatus
    reason: str | None
    note: str | None = strawberry.field(description="The moderator's note.")
    created_at: datetime
    resolved_at: datetime | None
    interview_id: strawberry.Private[int]
    reporter_id: strawberry.Private[int]
    accused_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: models.NoShowReport) -> NoShowReport:
        return cls(
            id=row.id,
            status=NoShowStatus(row.status),
            reason=row.reason,
            note=row.note,
            created_at=row.created_at,
            resolved_at=row.resolved_at,
            interview_id=row.interview_id,
            reporter_id=row.reporter_id,
            accused_id=row.accused_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[NoShowReport | None]:
        ids = [int(i) for i in node_ids]
        viewer = info.context.viewer
        statement = select(models.NoShowReport).where(models.NoShowReport.id.in_(ids))
        by_id = {row.id: row for row in (await info.context.db.execute(statement)).scalars()}
        return [
            cls.from_row(by_id[i])
            if i in by_id
            and viewer is not None
            and (viewer.id in (by_id[i].reporter_id, by_id[i].accused_id) or is_staff(info.context))
            else None
            for i in ids
        ]

    @strawberry.field
    async def interview(self, info: Info) -> Interview | None:
        return await _visible_interview(info, self.interview_id)

    @strawberry.field
    async def reporter(self, info: Info) -> User | None:
        return await _user(info, self.reporter_id)

    @strawberry.field(description="The participant reported as absent.")
    async def accused(self, info: Info) -> User | None:
        return await _user(info, self.accused_id)


async def user_stats(info: Info, user_id: int) -> UserStats:
    """`User.stats` (public): batched per request."""
    return UserStats.from_row(await info.context.loaders.user_stats.load(user_id))


async def user_points_ledger(
    info: Info, user_id: int, first: int | None, after: str | None
) -> relay.Connection[PointsEntry] | None:
    """`User.pointsLedger`: only the member themself and admins; null for everyone else."""
    viewer = info.context.viewer
    if viewer is None or (viewer.id != user_id and not is_admin(info.context)):
        return None
    size = page_size(first, info.context.settings)
    after_id = int(decode_cursor(after, 1)[0]) if after else None
    rows = await points.ledger_entries(info.context.uow, user_id, after_id=after_id, limit=size + 1)
    nodes = [PointsEntry.from_row(r) for r in rows]
    return build_connection(nodes, size, lambda n: encode_cursor(n.id), has_previous=after is not None)


async def user_calendar_feed_url(info: Info, user_id: int) -> str | None:
    """`User.calendarFeedUrl`: the secret feed URL, only for the member themself."""
    viewer = info.context.viewer
    if viewer is None or viewer.id != user_id:
        return None
    row = await info.context.loaders.user.load(user_id)
    return feed_url(info.context.uow, row.calendar_token) if row else None
