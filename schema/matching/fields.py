"""Matching queue fields: the viewer's ticket, joining and leaving, and the live `matchFound`."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from app.core.enums import MatchLevel, MatchRole
from resolvers.matching import queue, reads
from schema import subscriptions
from schema.context import Info
from schema.ids import parse_global_id
from schema.live_context import EventScope
from schema.matching.types import Match, MatchTicket
from schema.permissions import authenticated


@strawberry.input(description="What a member looks for in the matching queue.")
class JoinMatchQueueInput:
    specialization_id: strawberry.ID
    role: MatchRole = strawberry.field(
        description="CANDIDATE needs the booking cost in points; EITHER without points only interviews."
    )
    duration_minutes: int = strawberry.field(default=60, description="15-180; only equal durations pair.")
    language: str | None = strawberry.field(default=None, description="Up to 40 characters; null: any.")
    level: MatchLevel | None = strawberry.field(default=None, description="Null: any.")
    video_link: str | None = strawberry.field(
        default=None, description="Where to meet when you interview (http or https); else a room is made up."
    )


@strawberry.type
class MatchingQuery:
    @strawberry.field(
        description="The viewer's latest matching queue ticket (waiting, matched, left or expired); "
        "null when they never joined.",
        extensions=authenticated(),
    )
    async def match_ticket(self, info: Info) -> MatchTicket | None:
        row = await reads.current_ticket(info.context.uow, info.context.require_viewer())
        return MatchTicket.from_row(row) if row else None


@strawberry.type
class MatchingMutation:
    @strawberry.mutation(
        description=(
            "Join the matching queue; paired at once with the earliest compatible member when one "
            "waits (the ticket is then MATCHED and both sides get matchFound). Again with the same "
            "choices: the same ticket; other choices while waiting: CONFLICT; CANDIDATE without "
            "points: INSUFFICIENT_POINTS; an archived specialization or an interview or slot of "
            "yours right now: CONFLICT."
        ),
        extensions=authenticated(),
    )
    async def join_match_queue(self, info: Info, input: JoinMatchQueueInput) -> MatchTicket:
        request = queue.JoinRequest(
            specialization_id=parse_global_id(
                input.specialization_id, "Specialization", field="specializationId"
            ),
            role=input.role,
            duration_minutes=input.duration_minutes,
            language=input.language,
            level=input.level,
            video_link=input.video_link,
        )
        row = await queue.join_queue(info.context.uow, info.context.require_viewer(), request)
        return MatchTicket.from_row(row)

    @strawberry.mutation(
        description="Leave the matching queue; false when the viewer was not waiting.",
        extensions=authenticated(),
    )
    async def leave_match_queue(self, info: Info) -> bool:
        return await queue.leave_queue(info.context.uow, info.context.require_viewer())


@strawberry.type
class MatchingSubscription:
    @strawberry.subscription(
        description="The viewer's matches as the queue makes them, on whichever instance.",
        extensions=authenticated(),
    )
    async def match_found(self, info: Info) -> AsyncGenerator[Match, None]:
        context = info.context
        viewer = context.require_viewer()

        async def build(message: dict[str, Any], scope: EventScope) -> Match | None:
            row = await scope.loaders.match.load(int(message["match_id"]))
            tickets = await scope.loaders.match_tickets.load(int(message["match_id"]))
            if row is None or all(t.user_id != viewer.id for t in tickets):
                return None
            return Match.from_row(row, viewer.id)

        channel = context.services.channels.matches(viewer.id)
        async for event in subscriptions.follow(context, channel, build):
            yield event
