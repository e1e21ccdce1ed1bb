"""GET /metrics in the Prometheus text format, behind `METRICS_TOKEN`.

With `METRICS_TOKEN` set, a scrape needs `Authorization: Bearer <METRICS_TOKEN>` (else 401). Without
it the endpoint is open in development and absent in production (404, like any unknown path), so a
production server never shows its metrics to whoever reaches it.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from app.core.metrics import render_metrics, update_pool_gauges
from app.core.settings import Settings

Endpoint = Callable[[Request], Awaitable[Response]]
UNAUTHORIZED = orjson.dumps(
    {"errors": [{"message": "A metrics token is required.", "extensions": {"code": "UNAUTHENTICATED"}}]}
)


async def metrics_endpoint(request: Request) -> Response:
    """The samples of this process (or of every worker, in multiprocess mode)."""
    update_pool_gauges(getattr(request.app.state, "engine", None))
    return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)


def _bearer(request: Request) -> bytes:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip().encode() if scheme.lower() == "bearer" else b""


def guarded_metrics_endpoint(settings: Settings) -> Endpoint:
    """`metrics_endpoint` with the `METRICS_TOKEN` rule above."""
    expected = (settings.metrics_token or "").encode()

    async def endpoint(request: Request) -> Response:
        if not expected:
            if settings.is_production:
                return PlainTextResponse("Not Found", status_code=404)
            return await metrics_endpoint(request)
        if not hmac.compare_digest(_bearer(request), expected):
            return Response(
                UNAUTHORIZED,
                status_code=401,
                media_type="application/json",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return await metrics_endpoint(request)

    return endpoint
