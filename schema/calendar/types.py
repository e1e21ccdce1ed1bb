"""The calendar feed URL of `User` (only for the member themself)."""

from __future__ import annotations

from resolvers.calendar import feed_url
from schema.context import Info


async def user_calendar_feed_url(info: Info, user_id: int, *, is_self: bool) -> str | None:
    """`User.calendarFeedUrl`: the secret feed URL, only for the member themself (`is_self`: the
    viewer, or the caller of an auth mutation, see `User.viewed_as_self`)."""
    if not is_self:
        return None
    row = await info.context.loaders.user.load(user_id)
    return feed_url(info.context.uow, row.calendar_token) if row else None
