"""GET /metrics in the Prometheus text format."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from app.core.metrics import render_metrics, update_pool_gauges


async def metrics_endpoint(request: Request) -> Response:
    """The samples of this process (or of every worker, in multiprocess mode)."""
    update_pool_gauges(getattr(request.app.state, "engine", None))
    return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)
