"""GraphQL types of the matching queue: a member's ticket and the match that paired two members. Who
may see what is decided in resolvers/matching."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from app.core.enums import MatchLevel, MatchRole, MatchTicketStatus
from db import models
from resolvers.interviews.access import can_view_interview
from resolvers.matching import reads
from schema.accounts.types import User, load_user_node
from schema.context import Info
from schema.ids import node_keys
from schema.interviews.types import Interview
from schema.specializations.types import Specialization, load_specialization_node

strawberry.enum(MatchRole, name="MatchRole", description="The part a member wants to play in a match.")
strawberry.enum(MatchLevel, name="MatchLevel", description="The seniority a member practises for.")
strawberry.enum(
    MatchTicketStatus, name="MatchTicketStatus", description="Where a matching queue ticket stands."
)


@strawberry.type(
    name="Match",
    description="Two members the matching queue paired: one interview starting at once, or two back to "
    "back with the roles swapped when both chose EITHER.",
)
class Match:
    matched_at: datetime
    match_id: strawberry.Private[int]
    member_id: strawberry.Private[int]
    specialization_id: strawberry.Private[int]
    interview_ids: strawberry.Private[list[int]]

    @classmethod
    def from_row(cls, row: models.Match, member_id: int) -> Match:
        """The match as `member_id` (one of its two members) sees it."""
        ids = [row.first_interview_id] + ([row.second_interview_id] if row.second_interview_id else [])
        return cls(
            matched_at=row.created_at,
            match_id=row.id,
            member_id=member_id,
            specialization_id=row.specialization_id,
            interview_ids=ids,
        )

    @strawberry.field(description="The match's interviews in the order they take place.")
    async def interviews(self, info: Info) -> list[Interview]:
        rows = await info.context.loaders.interview.load_many(self.interview_ids)
        viewer = info.context.viewer
        return [Interview.from_row(r) for r in rows if r is not None and can_view_interview(viewer, r)]

    @strawberry.field(description="The other member (null only if their account is gone).")
    async def partner(self, info: Info) -> User | None:
        other = await reads.partner_id(info.context.uow, self.match_id, self.member_id)
        return await load_user_node(info, other)

    @strawberry.field
    async def specialization(self, info: Info) -> Specialization | None:
        return await load_specialization_node(info, self.specialization_id)


@strawberry.type(
    name="MatchTicket",
    description="A member's place in the matching queue. Visible to the member (and admins).",
)
class MatchTicket(relay.Node):
    id: relay.NodeID[int]
    role: MatchRole
    language: str | None = strawberry.field(description="Lower-cased; null matches any language.")
    level: MatchLevel | None = strawberry.field(description="Null matches any level.")
    duration_minutes: int
    created_at: datetime = strawberry.field(description="When the member joined: the queue's order.")
    expires_at: datetime = strawberry.field(description="When the ticket expires unless paired first.")
    matched_at: datetime | None
    row: strawberry.Private[models.MatchTicket]

    @classmethod
    def from_row(cls, row: models.MatchTicket) -> MatchTicket:
        return cls(
            id=row.id,
            role=MatchRole(row.role),
            language=row.language,
            level=MatchLevel(row.level) if row.level else None,
            duration_minutes=row.duration_minutes,
            created_at=row.created_at,
            expires_at=row.expires_at,
            matched_at=row.matched_at,
            row=row,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[MatchTicket | None]:
        rows = await reads.visible_tickets(info.context.uow, info.context.viewer, node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]

    @strawberry.field(
        description="WAITING until paired (MATCHED), left (CANCELLED) or out of time (EXPIRED)."
    )
    def status(self, info: Info) -> MatchTicketStatus:
        return reads.shown_status(self.row, info.context.now())

    @strawberry.field(
        description="1 for the earliest waiting ticket of the same specialization and duration; "
        "null unless waiting."
    )
    async def position(self, info: Info) -> int | None:
        return await reads.queue_position(info.context.uow, self.row)

    @strawberry.field(
        description="Seconds still to wait, estimated from the median wait of the specialization's "
        "recent matches of this duration (last 24 hours, at most 50); null unless waiting or without "
        "recent matches."
    )
    async def estimated_wait_seconds(self, info: Info) -> int | None:
        return await reads.estimated_wait_seconds(info.context.uow, self.row)

    @strawberry.field(description="The match, once MATCHED.")
    async def match(self, info: Info) -> Match | None:
        if self.row.match_id is None:
            return None
        row = await info.context.loaders.match.load(self.row.match_id)
        return Match.from_row(row, self.row.user_id) if row else None

    @strawberry.field
    async def specialization(self, info: Info) -> Specialization | None:
        return await load_specialization_node(info, self.row.specialization_id)
