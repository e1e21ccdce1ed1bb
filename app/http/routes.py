"""The HTTP and WebSocket routes of the server."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route, WebSocketRoute

from app.core.settings import Settings
from app.http.calendar_feed import calendar_feed
from app.http.files import file_routes
from app.http.graphiql import graphiql_routes
from app.http.graphql_view import GraphQLView
from app.http.health import healthz, readyz
from app.http.metrics import guarded_metrics_endpoint
from app.http.oauth import oauth_routes
from app.http.response_cache import ResponseCacheLayer
from app.http.unsubscribe import unsubscribe_routes


def routes(view: GraphQLView, settings: Settings) -> list[BaseRoute]:
    """GraphQL over HTTP (behind the response cache) and WebSocket, health, OAuth, files, calendar
    feeds, metrics, and GraphiQL's vendored assets when GraphiQL is on."""
    return [
        Route(
            "/graphql",
            ResponseCacheLayer(view, lambda: view.response_cache, lambda: view.persisted_queries),
            methods=["GET", "POST"],
        ),
        WebSocketRoute("/graphql", view),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        *oauth_routes(),
        *file_routes(),
        Route("/calendar/{token}.ics", calendar_feed, methods=["GET"]),
        *unsubscribe_routes(),  # one-click email unsubscribe (RFC 8058)
        Route("/metrics", guarded_metrics_endpoint(settings)),  # METRICS_TOKEN (app/http/metrics.py)
        *graphiql_routes(settings.graphiql_enabled),
    ]
