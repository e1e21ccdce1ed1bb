"""Calendar fields: replacing the secret feed URL."""

from __future__ import annotations

import strawberry

from resolvers import calendar
from schema.accounts.types import User
from schema.context import Info
from schema.permissions import authenticated


@strawberry.type
class CalendarMutation:
    @strawberry.mutation(description="Replace your secret calendar feed URL.", extensions=authenticated())
    async def regenerate_calendar_feed_url(self, info: Info) -> User:
        return User.from_row(
            await calendar.regenerate_calendar_token(info.context.uow, info.context.require_viewer())
        )
