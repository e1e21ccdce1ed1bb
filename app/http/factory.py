"""The Starlette application factory."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from app.core.clock import Clock
from app.core.settings import Settings, get_settings
from app.http.graphql_view import build_graphql_view
from app.http.lifespan import Lifespan
from app.http.middleware import middleware_stack
from app.http.routes import routes
from app.live.shutdown import WebSocketRegistry
from app.ops.tracing import configure_tracing


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, tracer_provider: Any = None
) -> Starlette:
    """Build the ASGI app. Engine, Redis and the events hub are created in the lifespan."""
    settings = settings or get_settings()
    # Tests pass their own provider (in-memory exporter); otherwise OTLP when configured.
    own_tracing = configure_tracing(settings) if tracer_provider is None else None
    tracing = tracer_provider or own_tracing
    tracer = tracing.get_tracer("mockinterview") if tracing is not None else None
    view = build_graphql_view(settings)
    websockets = WebSocketRegistry()
    app = Starlette(
        routes=routes(view, settings),
        middleware=middleware_stack(settings, websockets, tracer),
        lifespan=Lifespan(settings, clock or Clock(), view, websockets, tracing=own_tracing),
    )
    app.state.schema = view.schema  # for tools and tests
    return app
