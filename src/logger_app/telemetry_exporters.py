"""opentelemetry-instrument's exporters, found on the providers it configured, and the one
setting of theirs the SDK reads no variable for: how soon a gRPC exporter reconnects.

gRPC waits longer between connection attempts the longer an endpoint stays away, up to 120 s,
and a process's exporters to one endpoint share one connection (gRPC's subchannel pool), so
recreating a channel, as the SDK's exporters do after a failed export, does not reset the wait.
After the collector sidecar restarts, the exporters could go on failing for a minute or more:
metrics catch up (they are cumulative), but each batch of spans gets one export, and is
dropped. The collector is on localhost, where an attempt a second costs nothing.
"""

from collections.abc import Iterator
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.trace import SpanProcessor

RECONNECT_BACKOFF = ("grpc.max_reconnect_backoff_ms", 1000)


def exporters(
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
) -> Iterator[tuple[str, Any]]:
    """Each exporter of the providers (the global ones by default: opentelemetry-instrument's)
    with its signal, "traces" or "metrics". The SDK has no public way to list them, so this
    reaches the processors and readers by their attribute names (pinned by uv.lock;
    tests/integration/test_telemetry_outage.py checks them)."""
    tracer_provider = tracer_provider or trace.get_tracer_provider()
    span_processor = getattr(tracer_provider, "_active_span_processor", None)
    for processor in getattr(span_processor, "_span_processors", ()):
        # logger_app.trace_sampling puts its processor in front of the batch processor.
        while isinstance(getattr(processor, "export", None), SpanProcessor):
            processor = processor.export
        if (exporter := getattr(processor, "span_exporter", None)) is not None:
            yield "traces", exporter
    meter_provider = meter_provider or metrics.get_meter_provider()
    for reader in getattr(meter_provider, "_metric_readers", ()):
        if (exporter := getattr(reader, "_exporter", None)) is not None:
            yield "metrics", exporter


def reconnect_quickly(exporter: Any) -> None:
    """Cap a gRPC OTLP exporter's wait between connection attempts at a second; any other
    exporter is left as it is. Safe to call again."""
    options = getattr(exporter, "_channel_options", None)
    if not isinstance(options, tuple) or RECONNECT_BACKOFF in options:
        return
    exporter._channel_options = (*options, RECONNECT_BACKOFF)
    # The channel is made in the constructor: make it again with the option. The old one is
    # left to the garbage collector, not closed, in case an export is using it right now.
    exporter._initialize_channel_and_stub()
