"""After a collector outage the next spans get through: the SDK's real OTLP/gRPC exporters for
traces and metrics, sharing one endpoint as in the served process, and a real gRPC collector
that is away for half a minute."""

import threading
import time
from typing import Any

from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from harness.processes import free_port
from logger_app.telemetry_exporters import RECONNECT_BACKOFF, exporters, reconnect_quickly
from tests.integration.test_telemetry_outage import collector

OUTAGE_SECONDS = 30
# As the e2e stack runs the app (where this was found): a batch every 0.2 s
# (OTEL_BSP_SCHEDULE_DELAY), each export given up after 5 s (OTEL_EXPORTER_OTLP_TIMEOUT), then
# dropped; metrics every second (OTEL_METRIC_EXPORT_INTERVAL).
SCHEDULE_DELAY_MS = 200
EXPORT_TIMEOUT = 5
DELIVERED_WITHIN = EXPORT_TIMEOUT + 2


class _Traces(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        self.span_names: list[str] = []
        self.arrived = threading.Event()

    def Export(self, request: Any, context: Any) -> Any:
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                self.span_names.extend(span.name for span in scope_spans.spans)
        self.arrived.set()
        return trace_service_pb2.ExportTraceServiceResponse()


def test_the_first_spans_after_an_outage_reach_the_collector() -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"  # as OTEL_EXPORTER_OTLP_ENDPOINT gives it: no TLS
    tracer_provider = TracerProvider()
    spans = OTLPSpanExporter(endpoint=endpoint, timeout=EXPORT_TIMEOUT)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(spans, schedule_delay_millis=SCHEDULE_DELAY_MS)
    )
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=endpoint, timeout=EXPORT_TIMEOUT), export_interval_millis=1000
    )
    meter_provider = MeterProvider(metric_readers=[reader])
    meter_provider.get_meter("test").create_counter("test.requests").add(1)
    tracer = tracer_provider.get_tracer("test")
    for _, exporter in exporters(tracer_provider, meter_provider):
        reconnect_quickly(exporter)
    try:
        started = time.monotonic()
        while time.monotonic() - started < OUTAGE_SECONDS:  # a request a second, spans dropped
            tracer.start_span("during-the-outage").end()
            time.sleep(1)
        traces = _Traces()
        with collector(port, traces):
            tracer.start_span("after-the-outage").end()
            assert traces.arrived.wait(DELIVERED_WITHIN), "no export reached the collector"
            deadline = time.monotonic() + DELIVERED_WITHIN
            while "after-the-outage" not in traces.span_names and time.monotonic() < deadline:
                time.sleep(0.1)
            assert "after-the-outage" in traces.span_names, traces.span_names
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()


def test_reconnect_quickly_leaves_other_exporters_and_a_second_call_alone() -> None:
    exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{free_port()}")
    reconnect_quickly(exporter)
    reconnect_quickly(exporter)
    assert exporter._channel_options.count(RECONNECT_BACKOFF) == 1

    class NotGrpc:
        pass

    other = NotGrpc()
    reconnect_quickly(other)
    assert vars(other) == {}


def test_exporters_finds_each_signals_exporter_on_the_providers() -> None:
    spans = OTLPSpanExporter(endpoint=f"127.0.0.1:{free_port()}")
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(spans))
    metric_exporter = OTLPMetricExporter(endpoint=f"127.0.0.1:{free_port()}")
    meter_provider = MeterProvider(metric_readers=[PeriodicExportingMetricReader(metric_exporter)])
    try:
        found = list(exporters(tracer_provider, meter_provider))
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()
    assert found == [("traces", spans), ("metrics", metric_exporter)]
