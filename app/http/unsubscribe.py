"""One-click unsubscribe (RFC 8058): `POST /notifications/unsubscribe/{token}` stops emailing one kind
of notification to one member. The token in the email's `List-Unsubscribe` URL is signed with the
server's secret, so no session is needed; GET only shows a button that POSTs (mail scanners follow
links, so a GET must change nothing)."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from app.http.unit_of_work import open_unit_of_work
from resolvers.deliveries.email import read_unsubscribe_token
from resolvers.deliveries.preferences import unsubscribe_email

PATH = "/notifications/unsubscribe/{token}"


def _target(request: Request) -> tuple[int, str] | None:
    token = str(request.path_params.get("token", ""))
    secret = request.app.state.services.settings.resolved_secret_key()
    return read_unsubscribe_token(secret, token) if len(token) <= 512 else None


async def unsubscribe(request: Request) -> Response:
    target = _target(request)
    if target is None:
        return PlainTextResponse("Not found.", status_code=404)
    if request.method == "GET":
        page = (
            "<!doctype html><title>Unsubscribe</title>"
            f"<form method=post><p>Stop emails about {html.escape(target[1].lower().replace('_', ' '))}?</p>"
            "<button>Unsubscribe</button></form>"
        )
        return HTMLResponse(page)
    uow = open_unit_of_work(request)
    try:
        found = await unsubscribe_email(uow, *target)
    finally:
        await uow.close()
    if not found:
        return PlainTextResponse("Not found.", status_code=404)
    return PlainTextResponse("Unsubscribed.")


def unsubscribe_routes() -> list[Route]:
    return [Route(PATH, unsubscribe, methods=["GET", "POST"])]
