"""GET /calendar/{token}.ics: the member's secret calendar feed, polled by calendar apps."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from app.http.unit_of_work import open_unit_of_work
from resolvers.calendar import feed_for_token

TOKEN_PATTERN = re.compile(r"^[0-9a-f]{32,128}$")


async def calendar_feed(request: Request) -> Response:
    """`text/calendar` with the member's interviews; 404 for unknown tokens (no hint which part failed)."""
    token = str(request.path_params.get("token", ""))
    if not TOKEN_PATTERN.match(token):
        return PlainTextResponse("Not found.", status_code=404)
    uow = open_unit_of_work(request)
    try:
        body = await feed_for_token(uow, token)
    finally:
        await uow.close()
    if body is None:
        return PlainTextResponse("Not found.", status_code=404)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300", "X-Robots-Tag": "noindex"},
    )
