"""The served app's trace sampling on real requests: with no budget for successful traces, a
request that fails (AWS throttling, answered 503) still has every one of its spans exported."""

import uuid
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from logger_app.trace_sampling import KeepFailedTraces, RateBudget
from tests.faults import FaultProxy
from tests.integration.conftest import AppFactory

WRITE = "DynamoDB_20120810.TransactWriteItems"


@pytest.fixture
def kept() -> Iterator[InMemorySpanExporter]:
    """What KeepFailedTraces with no budget passes on, beside the session's exporter (which
    sees every span)."""
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    processor = KeepFailedTraces(SimpleSpanProcessor(exporter), RateBudget(0))
    provider.add_span_processor(processor)
    yield exporter
    processors = provider._active_span_processor
    assert isinstance(processors, SynchronousMultiSpanProcessor)
    with processors._lock:
        processors._span_processors = tuple(
            p for p in processors._span_processors if p is not processor
        )


def test_a_failed_request_keeps_every_span(
    faults: FaultProxy,
    make_client: AppFactory,
    spans: InMemorySpanExporter,
    kept: InMemorySpanExporter,
) -> None:
    client = make_client()
    faults.inject(WRITE, "throttle")

    response = client.post(
        "/v1/signups", json={"email": f"p{uuid.uuid4().hex[:8]}@example.com", "full_name": "T P"}
    )

    assert response.status_code == 503
    [server] = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    trace_id = server.context.trace_id
    recorded = {
        s.context.span_id for s in spans.get_finished_spans() if s.context.trace_id == trace_id
    }
    assert len(recorded) >= 2  # the server span and the DynamoDB call
    assert {s.context.span_id for s in kept.get_finished_spans()} == recorded


def test_successful_requests_are_not_exported_without_budget(
    make_client: AppFactory, spans: InMemorySpanExporter, kept: InMemorySpanExporter
) -> None:
    client = make_client()

    assert client.get(f"/v1/records/{uuid.uuid4()}").status_code == 404
    created = client.post(
        "/v1/signups", json={"email": f"p{uuid.uuid4().hex[:8]}@example.com", "full_name": "T P"}
    )
    assert created.status_code == 201

    assert len(spans.get_finished_spans()) >= 4
    assert kept.get_finished_spans() == ()
