"""The calendar feed URL of `User` (only for the member themself)."""

from __future__ import annotations

from resolvers.calendar import feed_url
from schema.context import Info


async def user_calendar_feed_url(info: Info, user_id: int) -> str | None:
    """`User.calendarFeedUrl`: the secret feed URL, only for the member themself."""
    viewer = info.context.viewer
    if viewer is None or viewer.id != user_id:
        return None
    row = await info.context.loaders.user.load(user_id)
    return feed_url(info.context.uow, row.calendar_token) if row else None
