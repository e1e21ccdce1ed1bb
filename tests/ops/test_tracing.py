"""Optional OpenTelemetry tracing: a server span per request that continues the caller's trace, and
export over OTLP/HTTP to a collector (a loopback one here)."""

from __future__ import annotations

import asyncio

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.core.clock import Clock
from app.http.factory import create_app
from tests.accounts.test_oauth import _free_port, serving
from tests.conftest import make_settings
from tests.helpers import GraphQLClient

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


async def _post(app: Starlette, body: dict[str, object], headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 41000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        return await http.post("/graphql", json=body, headers=headers)


async def test_request_span_continues_the_trace_and_carries_the_operation(
    database_url: str, redis_url: str, clock: Clock
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(make_settings(database_url, redis_url), clock=clock, tracer_provider=provider)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 41000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            member = await GraphQLClient(http).sign_up("traced")
            exporter.clear()
            reply = await http.post(
                "/graphql",
                json={"query": "query Mine { me { id } }"},
                headers={"traceparent": TRACEPARENT, "authorization": f"Bearer {member.access_token}"},
            )
    assert reply.status_code == 200
    (span,) = exporter.get_finished_spans()
    assert span.name == "query Mine"
    assert format(span.context.trace_id, "032x") == TRACE_ID  # the caller's trace
    assert span.parent is not None
    attributes = dict(span.attributes or {})
    assert attributes["http.response.status_code"] == 200
    assert attributes["graphql.operation.type"] == "query"
    assert attributes["url.path"] == "/graphql"
    assert attributes["enduser.id"] is not None
    assert member.access_token not in repr(attributes)


async def test_spans_are_exported_over_otlp_http(database_url: str, redis_url: str, clock: Clock) -> None:
    received: list[ExportTraceServiceRequest] = []

    async def traces(request: Request) -> Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.body())
        received.append(message)
        return Response(b"", media_type="application/x-protobuf")

    port = _free_port()
    collector = Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])])
    settings = make_settings(
        database_url,
        redis_url,
        otel_exporter_otlp_endpoint=f"http://127.0.0.1:{port}",
        otel_service_name="mi-test",
    )
    async with serving(collector, port):
        app = create_app(settings, clock=clock)
        async with app.router.lifespan_context(app):
            reply = await _post(app, {"query": "query Ping { __typename }"}, {})
            assert reply.status_code == 200
        # The lifespan's shutdown flushed the batch; the exporter posts from its own thread.
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.05)
    spans = [
        (span.name, resource.resource)
        for message in received
        for resource in message.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert any(name == "query Ping" for name, _ in spans), spans
    service = {a.key: a.value.string_value for _, r in spans for a in r.attributes}
    assert service["service.name"] == "mi-test"
