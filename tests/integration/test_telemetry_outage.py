"""A collector outage in the logs: one JSON line when exports start failing and one when they get
through again, with the SDK's real OTLP/gRPC exporters and a real gRPC collector that comes and
goes on one port; and `logger-app serve` and `logger-app worker` with no collector write nothing
but JSON lines, the outage once however many exports fail."""

import io
import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any

import grpc
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from harness.processes import BIN, free_port
from logger_app.events import Event
from logger_app.logs import ServiceJsonFormatter
from logger_app.telemetry_outage import FAILING, RECOVERED, ExportOutages, watch_exporters
from tests.integration.test_process import patient, post
from tests.integration.worker.test_main import new_patient, send
from tests.support import app_process


class _Traces(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
    def Export(self, request: Any, context: Any) -> Any:
        return trace_service_pb2.ExportTraceServiceResponse()


class _Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):  # type: ignore[misc]
    def Export(self, request: Any, context: Any) -> Any:
        return metrics_service_pb2.ExportMetricsServiceResponse()


@contextmanager
def collector(port: int, traces: Any = None) -> Iterator[None]:
    """A gRPC collector on `port`, answering every export; `traces` receives the spans."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(traces or _Traces(), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Metrics(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    try:
        yield
    finally:
        server.stop(grace=None).wait()


@contextmanager
def json_log() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The root logger's records as the service writes them, through a fresh outage filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ServiceJsonFormatter("test"))
    outages = ExportOutages()
    handler.addFilter(outages)
    root, exporter_logger = logging.getLogger(), logging.getLogger("opentelemetry.exporter.otlp")
    level, exporter_level = root.level, exporter_logger.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    exporter_logger.setLevel(logging.ERROR)  # as configure_logging sets it
    handler.outages = outages  # type: ignore[attr-defined]
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        exporter_logger.setLevel(exporter_level)


def _outage_lines(lines: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (line["event"], line["telemetry_signal"])
        for line in lines
        if line["event"] in (FAILING, RECOVERED)
    ]


def _until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends() -> None:
    port = free_port()
    endpoint = f"127.0.0.1:{port}"
    # Exports give up after 1 s (10 s by default), so that several fail within the test.
    spans = OTLPSpanExporter(endpoint=endpoint, insecure=True, timeout=1)
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(spans, schedule_delay_millis=50))
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=endpoint, insecure=True, timeout=1),
        export_interval_millis=3_600_000,  # exported below, by hand
    )
    meter_provider = MeterProvider(metric_readers=[reader])
    counter = meter_provider.get_meter("test").create_counter("test.requests")
    tracer = tracer_provider.get_tracer("test")

    def export_once() -> bool:
        with tracer.start_as_current_span("secret-span-name"):
            pass
        counter.add(1)
        tracer_provider.force_flush()
        reader.collect()
        return True

    with json_log() as lines:
        outages = logging.getLogger().handlers[-1].outages  # type: ignore[attr-defined]
        watch_exporters(outages, tracer_provider, meter_provider)
        watch_exporters(outages, tracer_provider, meter_provider)  # a second call changes nothing

        for _ in range(3):  # three failed exports of each
            export_once()
        assert len([1 for line in lines() if line["event"] == FAILING]) == 2, lines()
        down = _outage_lines(lines())

        with collector(port):
            _until(lambda: export_once() and len(_outage_lines(lines())) == 4, 15)
            export_once()  # more successes: nothing more said
        up = _outage_lines(lines())

        for _ in range(2):  # the collector gone again: a second outage
            export_once()
        again = _outage_lines(lines())
        tracer_provider.shutdown()
        meter_provider.shutdown()

        assert sorted(down) == [(FAILING, "metrics"), (FAILING, "traces")]
        assert sorted(up[2:]) == [(RECOVERED, "metrics"), (RECOVERED, "traces")]
        assert sorted(again[4:]) == [(FAILING, "metrics"), (FAILING, "traces")]
        for line in lines():
            assert "Failed to export" not in line["message"]
            if line["event"] in (FAILING, RECOVERED):
                assert line["endpoint"] == endpoint
                assert line["level"] == ("WARNING" if line["event"] == FAILING else "INFO")
                assert "secret-span-name" not in json.dumps(line)


# Standard SDK variables: a batch of spans every 0.2 s, each export given up after 1 s, so that
# a few seconds see several failed exports (at the defaults, one every 5-10 s). Metrics keep
# their 60 s interval (an export sooner could fail before the process has configured its
# logging): their only export is the last flush, at the stop.
FREQUENT_EXPORTS = {"OTEL_BSP_SCHEDULE_DELAY": "200", "OTEL_EXPORTER_OTLP_TIMEOUT": "1"}


def _said_once(output: str, endpoint: str) -> None:
    records = [json.loads(line) for line in output.splitlines()]  # every line is JSON
    assert "Failed to export" not in output
    assert "Transient error" not in output
    failing = [record for record in records if record["event"] == FAILING]
    said = sorted(record["telemetry_signal"] for record in failing)
    # Traces failed in batch after batch, said once; metrics at most once, at the stop, if
    # their last flush gave up within its bound (0.5 s) rather than being cut off by it.
    assert said in (["traces"], ["metrics", "traces"]), failing
    assert {record["endpoint"] for record in failing} == {endpoint.removeprefix("http://")}


def test_with_no_collector_the_api_writes_only_json_and_says_so_once(aws: str) -> None:
    nothing_listens = f"http://127.0.0.1:{free_port()}"
    environment = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": nothing_listens,
        **FREQUENT_EXPORTS,
    }
    with app_process(environment) as (process, url):
        for _ in range(8):
            assert post(url + "/v1/signups", patient())[0] == 201
            time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert process.stdout is not None
        output = process.stdout.read().decode()

    _said_once(output, nothing_listens)


def test_with_no_collector_the_worker_writes_only_json_and_says_so_once(aws: str) -> None:
    nothing_listens = f"http://127.0.0.1:{free_port()}"
    worker = subprocess.Popen(
        [str(BIN / "logger-app"), "worker"],
        env={**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": nothing_listens, **FREQUENT_EXPORTS},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(8):  # each handled in a span of its own
            send(aws, Event("patient.signed_up", {"patient_id": new_patient()}, trace_context={}))
            time.sleep(0.5)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)

    assert worker.returncode == 0, output
    _said_once(output.decode(), nothing_listens)
