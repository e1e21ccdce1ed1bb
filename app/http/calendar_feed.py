"""GET /calendar/{token}.ics: the member's secret calendar feed, polled by calendar apps."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from resolvers.calendar import feed_for_token
from resolvers.unit_of_work import Services

TOKEN_PATTERN = re.compile(r"^[0-9a-f]{32,128}$")


async def calendar_feed(request: Request) -> Response:
    """`text/calendar` with the member's interviews; 404 for unknown tokens (no hint which part failed)."""
    token = str(request.path_params.get("token", ""))
    if not TOKEN_PATTERN.match(token):
        return PlainTextResponse("Not found.", status_code=404)
    state: Services = request.app.state.services
    async with state.sessionmaker() as session:
        body = await feed_for_token(session, token)
    if body is None:
        return PlainTextResponse("Not found.", status_code=404)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300", "X-Robots-Tag": "noindex"},
    )
