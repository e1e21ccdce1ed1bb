"""Prometheus metrics: the series every layer records into (the endpoint is `app.http.metrics`).

Label values are bounded: operation names must look like GraphQL names and only the first
`MAX_OPERATION_NAMES` distinct ones get their own series (then "other"); unnamed operations are
"anonymous". With `PROMETHEUS_MULTIPROC_DIR` set (done by `serve --workers N`), every worker writes its
samples there and `/metrics` aggregates them, so any worker can answer a scrape.
"""

from __future__ import annotations

import os
import re
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess

MAX_OPERATION_NAMES = 200
MAX_ERROR_CODES = 50
ANONYMOUS = "anonymous"
OTHER = "other"
KNOWN_ROUTES = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,99}$")
_OPERATION_TYPES = frozenset({"query", "mutation", "subscription"})

HTTP_REQUESTS = Counter(
    "mockinterview_http_requests_total",
    "HTTP requests by route, status and GraphQL operation.",
    ["route", "method", "status", "operation_type", "operation_name"],
)
HTTP_LATENCY = Histogram(
    "mockinterview_http_request_duration_seconds",
    "HTTP request latency by route and GraphQL operation.",
    ["route", "operation_type", "operation_name"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
GRAPHQL_ERRORS = Counter(
    "mockinterview_graphql_errors_total", "GraphQL errors by extensions.code.", ["code", "operation_type"]
)
WEBSOCKETS = Gauge(
    "mockinterview_websocket_connections", "Open GraphQL websocket connections.", multiprocess_mode="livesum"
)
SUBSCRIPTIONS = Gauge(
    "mockinterview_active_subscriptions", "Running GraphQL subscriptions.", multiprocess_mode="livesum"
)
EVENTS_PUBLISHED = Counter(
    "mockinterview_events_published_total", "Events published to the hub.", ["channel_kind"]
)
EVENTS_DELIVERED = Counter(
    "mockinterview_events_delivered_total", "Events delivered to subscribers.", ["channel_kind"]
)
EVENT_BUFFER_PUBLISHED = Counter(
    "mockinterview_event_buffer_published_total", "Buffered events the background publisher sent to the hub."
)
EVENT_BUFFER_DROPPED = Counter(
    "mockinterview_event_buffer_dropped_total",
    "Buffered events never sent: reason full (oldest dropped), error (unpublishable) or shutdown.",
    ["reason"],
)
EVENT_BUFFER_RETRIES = Counter(
    "mockinterview_event_buffer_retries_total", "Failed hub publishes of a buffered event, retried."
)
EVENT_BUFFER_PENDING = Gauge(
    "mockinterview_event_buffer_pending", "Events waiting in the publish buffer.", multiprocess_mode="livesum"
)
RATELIMIT_FALLBACKS = Counter(
    "mockinterview_ratelimit_fallbacks_total",
    "Rate-limit hits counted in this process because Redis did not answer in time.",
)
DB_POOL = Gauge(
    "mockinterview_db_pool_connections",
    "Database pool connections (checked_out, size, overflow).",
    ["state"],
    multiprocess_mode="livesum",
)

_seen_names: set[str] = set()
_seen_codes: set[str] = set()


def operation_name_label(name: object) -> str:
    """A bounded label value for a client-chosen operation name."""
    if not isinstance(name, str) or not name:
        return ANONYMOUS
    if not _NAME.match(name):
        return OTHER
    if name not in _seen_names:
        if len(_seen_names) >= MAX_OPERATION_NAMES:
            return OTHER
        _seen_names.add(name)
    return name


def operation_type_label(operation_type: object) -> str:
    """ "query", "mutation", "subscription" or "none" (not a GraphQL request, or it did not parse)."""
    return (
        operation_type if isinstance(operation_type, str) and operation_type in _OPERATION_TYPES else "none"
    )


def route_label(path: str) -> str:
    return path if path in KNOWN_ROUTES else OTHER


def record_http_request(
    *, path: str, method: str, status: int, duration: float, operation_type: object, operation_name: object
) -> None:
    """Count one HTTP request and observe its latency."""
    route, op_type, op_name = (
        route_label(path),
        operation_type_label(operation_type),
        operation_name_label(operation_name),
    )
    HTTP_REQUESTS.labels(route, method, str(status), op_type, op_name).inc()
    HTTP_LATENCY.labels(route, op_type, op_name).observe(duration)


def record_graphql_error(code: object, operation_type: object) -> None:
    """Count one GraphQL error by its `extensions.code`."""
    label = code if isinstance(code, str) and _NAME.match(code) else "UNKNOWN"
    if label not in _seen_codes:
        if len(_seen_codes) >= MAX_ERROR_CODES:
            label = OTHER
        else:
            _seen_codes.add(label)
    GRAPHQL_ERRORS.labels(label, operation_type_label(operation_type)).inc()


def record_event_published(channel_kind: str) -> None:
    """Count one event published to the hub; `channel_kind` is the channel family (e.g. "slots")."""
    EVENTS_PUBLISHED.labels(channel_kind).inc()


def record_event_delivered(channel_kind: str) -> None:
    """Count one event handed to a subscriber."""
    EVENTS_DELIVERED.labels(channel_kind).inc()


def record_event_buffer(outcome: str, count: int = 1) -> None:
    """Count buffered events: "published", "retried", or dropped ("full", "error", "shutdown")."""
    if outcome == "published":
        EVENT_BUFFER_PUBLISHED.inc(count)
    elif outcome == "retried":
        EVENT_BUFFER_RETRIES.inc(count)
    else:
        EVENT_BUFFER_DROPPED.labels(outcome).inc(count)


def set_event_buffer_pending(pending: int) -> None:
    EVENT_BUFFER_PENDING.set(pending)


def record_ratelimit_fallback() -> None:
    """Count one rate-limit hit served by the per-process counters (Redis did not answer)."""
    RATELIMIT_FALLBACKS.inc()


def update_pool_gauges(engine: Any) -> None:
    """Sample the SQLAlchemy pool of `engine` (an AsyncEngine) into the DB pool gauge."""
    pool = getattr(getattr(engine, "sync_engine", None), "pool", None)
    if pool is None or not hasattr(pool, "checkedout"):
        return
    DB_POOL.labels("checked_out").set(pool.checkedout())
    DB_POOL.labels("size").set(pool.size())
    DB_POOL.labels("overflow").set(max(0, pool.overflow()))


def multiprocess_enabled() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def render_metrics() -> bytes:
    """The exposition text for this process, or for all workers in multiprocess mode."""
    if multiprocess_enabled():
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def mark_process_dead(pid: int) -> None:
    """Drop a finished worker's live gauges (multiprocess mode only)."""
    if multiprocess_enabled():
        prometheus_multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
