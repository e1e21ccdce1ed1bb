"""Optional OpenTelemetry tracing: one server span per HTTP request, exported over OTLP/HTTP.

On when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; needs the
`otel` extra (`pip install 'mockinterview[otel]'`). The span continues the caller's trace
(W3C `traceparent`), is named after the GraphQL operation (`query Mine`) when there is one, and
carries what the access log carries: method, path with parameters masked, status, operation name and
type, member id and request id. Never headers, variables or bodies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.types import Scope

from app.core.settings import Settings, SettingsError

# OpenTelemetry is an optional extra (`otel`): it is imported only where tracing is on, never at module
# level, so the server runs without it.
if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer


def traces_endpoint(settings: Settings) -> str | None:
    if settings.otel_exporter_otlp_traces_endpoint:
        return settings.otel_exporter_otlp_traces_endpoint
    if settings.otel_exporter_otlp_endpoint:
        return settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
    return None


def configure_tracing(settings: Settings) -> TracerProvider | None:
    """A tracer provider exporting to the configured OTLP endpoint, or None when tracing is off."""
    endpoint = traces_endpoint(settings)
    if endpoint is None:
        return None
    try:
        # lazy: the optional `otel` extra (see the module comment), for all four imports
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # lazy: otel
        from opentelemetry.sdk.resources import Resource  # lazy: otel
        from opentelemetry.sdk.trace import TracerProvider  # lazy: otel
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # lazy: otel
    except ImportError as exc:
        raise SettingsError(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed: "
            "pip install 'mockinterview[otel]'"
        ) from exc
    provider = TracerProvider(resource=Resource.create({"service.name": settings.otel_service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def request_span(tracer: Tracer, scope: Scope) -> Any:
    """A context manager opening the server span of an HTTP request, continuing the caller's trace."""
    from opentelemetry.propagate import extract  # lazy: optional otel extra, reached with tracing on
    from opentelemetry.trace import SpanKind  # lazy: optional otel extra

    headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope.get("headers", [])}
    return tracer.start_as_current_span(
        f"{scope['method']} {scope['path']}", context=extract(headers), kind=SpanKind.SERVER
    )


def finish_request_span(span: Any, attributes: dict[str, Any]) -> None:
    """Name the span after the GraphQL operation when there was one, and attach the access-log fields
    that are set."""
    operation_type, operation_name = (
        attributes.get("graphql.operation.type"),
        attributes.get("graphql.operation.name"),
    )
    if operation_type:
        span.update_name(f"{operation_type} {operation_name}" if operation_name else str(operation_type))
    span.set_attributes({key: value for key, value in attributes.items() if value is not None})
    status = attributes.get("http.response.status_code")
    if isinstance(status, int) and status >= 500:
        from opentelemetry.trace import Status, StatusCode  # lazy: optional otel extra, tracing on

        span.set_status(Status(StatusCode.ERROR))
