"""Which traces reach the export processor: every failed one whole, successful ones by rate."""

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import (
    NoOpTracerProvider,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
    set_span_in_context,
)

from logger_app import trace_sampling
from logger_app.trace_sampling import KeepFailedTraces, RateBudget, keep_failed_traces


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def exported() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def tracer_with(
    exported: InMemorySpanExporter, per_second: float, clock: Clock | None = None
) -> Tracer:
    provider = TracerProvider()
    budget = RateBudget(per_second, clock or Clock())
    provider.add_span_processor(KeepFailedTraces(SimpleSpanProcessor(exported), budget))
    return provider.get_tracer("test")


def request(
    tracer: Tracer, *, status: int = 200, client_error: bool = False, synthetic: bool = False
) -> None:
    """A server span with a DynamoDB client span inside, as a request's trace."""
    with tracer.start_as_current_span("GET /v1/records/{id}", kind=SpanKind.SERVER) as server:
        if synthetic:
            server.set_attribute("logger_app.synthetic", True)
        with tracer.start_as_current_span("DynamoDB.Query", kind=SpanKind.CLIENT) as call:
            if client_error:
                call.set_status(Status(StatusCode.ERROR))
        if status >= 500:
            server.set_status(Status(StatusCode.ERROR))


def names(spans: tuple[ReadableSpan, ...]) -> list[str]:
    return [span.name for span in spans]


def test_with_no_budget_a_5xx_trace_is_exported_whole(exported: InMemorySpanExporter) -> None:
    tracer = tracer_with(exported, per_second=0)

    request(tracer, status=503)

    assert names(exported.get_finished_spans()) == ["DynamoDB.Query", "GET /v1/records/{id}"]


def test_a_failed_call_keeps_its_trace_though_the_request_succeeded(
    exported: InMemorySpanExporter,
) -> None:
    tracer = tracer_with(exported, per_second=0)

    request(tracer, client_error=True)

    assert len(exported.get_finished_spans()) == 2


def test_with_no_budget_a_successful_trace_is_dropped(exported: InMemorySpanExporter) -> None:
    tracer = tracer_with(exported, per_second=0)

    request(tracer)
    request(tracer, status=404)

    assert exported.get_finished_spans() == ()


def test_a_synthetic_trace_is_kept_with_no_budget(exported: InMemorySpanExporter) -> None:
    # logger-app verify waits for its journey's traces: sampling must never drop them.
    tracer = tracer_with(exported, per_second=0)

    request(tracer, synthetic=True)
    request(tracer)

    assert names(exported.get_finished_spans()) == ["DynamoDB.Query", "GET /v1/records/{id}"]


def test_successful_traces_are_kept_up_to_the_rate_in_bursts(
    exported: InMemorySpanExporter,
) -> None:
    clock = Clock()
    tracer = tracer_with(exported, per_second=2, clock=clock)

    for _ in range(30):
        request(tracer)
    assert len(exported.get_finished_spans()) == 2 * 20  # the burst: 10 s at 2 a second

    clock.now += 1.0
    for _ in range(5):
        request(tracer)
    assert len(exported.get_finished_spans()) == 2 * 22
    # Failures never wait for the budget.
    request(tracer, status=500)
    assert len(exported.get_finished_spans()) == 2 * 23


def test_a_span_ending_after_its_root_follows_the_traces_decision(
    exported: InMemorySpanExporter,
) -> None:
    tracer = tracer_with(exported, per_second=0)

    for status in (200, 500):
        with tracer.start_as_current_span("POST /v1/signups", kind=SpanKind.SERVER) as server:
            late = tracer.start_span("SQS.SendMessage", kind=SpanKind.PRODUCER)
            if status == 500:
                server.set_status(Status(StatusCode.ERROR))
        late.end()

    assert names(exported.get_finished_spans()) == ["POST /v1/signups", "SQS.SendMessage"]
    assert exported.get_finished_spans()[0].status.status_code is StatusCode.ERROR


def test_a_late_failed_span_is_kept_on_its_own(exported: InMemorySpanExporter) -> None:
    tracer = tracer_with(exported, per_second=0)

    with tracer.start_as_current_span("POST /v1/signups", kind=SpanKind.SERVER):
        late = tracer.start_span("SQS.SendMessage", kind=SpanKind.PRODUCER)
    late.set_status(Status(StatusCode.ERROR))
    late.end()

    assert names(exported.get_finished_spans()) == ["SQS.SendMessage"]


def test_spans_whose_root_never_ends_are_passed_on_past_the_limit(
    exported: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trace_sampling, "MAX_PENDING_TRACES", 2)
    tracer = tracer_with(exported, per_second=0)

    for i in range(3):
        root = tracer.start_span(f"root {i}", kind=SpanKind.SERVER)  # never ends
        tracer.start_span(f"child {i}", context=set_span_in_context(root)).end()

    # Two traces held; the oldest is passed on rather than held without bound.
    assert names(exported.get_finished_spans()) == ["child 0"]


def test_keep_failed_traces_wraps_the_providers_processors_in_place(
    exported: InMemorySpanExporter,
) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    tracer = provider.get_tracer("made before, as botocore's is")

    assert keep_failed_traces(0, provider) is True

    request(tracer)
    assert exported.get_finished_spans() == ()
    request(tracer, status=500)
    assert len(exported.get_finished_spans()) == 2


def test_keep_failed_traces_leaves_everything_when_keeping_all_or_without_the_sdk(
    exported: InMemorySpanExporter,
) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))

    assert keep_failed_traces(float("inf"), provider) is False
    assert keep_failed_traces(0, NoOpTracerProvider()) is False

    request(provider.get_tracer("test"))
    assert len(exported.get_finished_spans()) == 2


def test_unsampled_spans_are_ignored(exported: InMemorySpanExporter) -> None:
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(KeepFailedTraces(SimpleSpanProcessor(exported), RateBudget(1)))

    request(provider.get_tracer("test"), status=500)

    assert exported.get_finished_spans() == ()
