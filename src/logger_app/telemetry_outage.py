"""One log line when the exporters stop reaching the collector and one when they get through
again, instead of the OTLP exporter's lines at every failed export.

With no collector listening (a laptop without the local stack, a sidecar restarting) the OTLP
exporter logs "Failed to export ..." for every batch of spans and every metric interval (the
SDK's own filter drops only a repeat within 20 s). The service is unaffected and the telemetry
is dropped either way, so a watch on each exporter's result logs `telemetry.export_failing` at
the first failed export of a signal (traces, metrics) and `telemetry.export_recovered` at its
first success after that, and a filter on the stdout handler drops the exporter's own failure
lines. Neither line carries what was being exported, nor the collector's error details: only
the signal and the endpoint.
"""

import logging
import threading
from collections.abc import Callable
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics.export import MetricExportResult
from opentelemetry.sdk.trace.export import SpanExportResult

from logger_app.telemetry_exporters import exporters

FAILING = "telemetry.export_failing"
RECOVERED = "telemetry.export_recovered"
# Where the OTLP exporters log (all signals share the gRPC exporter's module logger).
EXPORTER_LOGGERS = "opentelemetry.exporter.otlp"
# The gRPC exporter's messages for a failed export (its final one, and its retries').
FAILURE_MESSAGES = ("Failed to export %s to %s", "Transient error %s encountered while exporting")
SUCCESS = (SpanExportResult.SUCCESS, MetricExportResult.SUCCESS)

logger = logging.getLogger("logger_app.telemetry")


class ExportOutages(logging.Filter):
    """Which signals are failing to export; as a handler filter, it drops the exporter's own
    failure lines (this says it once instead)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._failing: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.name.startswith(EXPORTER_LOGGERS)
            and str(record.msg).startswith(FAILURE_MESSAGES)
        )

    def exported(self, signal: str, endpoint: str, succeeded: bool) -> None:
        """The result of one export of `signal`: a line if it starts or ends an outage."""
        with self._lock:
            changed = succeeded == (signal in self._failing)
            if succeeded:
                self._failing.discard(signal)
            else:
                self._failing.add(signal)
        fields = {"telemetry_signal": signal, "endpoint": endpoint}
        if changed and succeeded:
            logger.info(
                "telemetry export recovered: %s to %s",
                signal,
                endpoint,
                extra={"event": RECOVERED, **fields},
            )
        elif changed:
            logger.warning(
                "telemetry export failing: %s to %s; dropped until it works again",
                signal,
                endpoint,
                extra={"event": FAILING, **fields},
            )


def watch_exporters(
    outages: ExportOutages,
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
) -> None:
    """Report each export's result to `outages`, for the exporters of the providers (the global
    ones by default: opentelemetry-instrument's). The SDK offers no hook for an export's result,
    so this wraps each exporter's `export` and reads its endpoint by its attribute name (pinned
    by uv.lock; tests/integration/test_telemetry_outage.py checks it). Safe to call again."""
    for signal, exporter in exporters(tracer_provider, meter_provider):
        _watch(exporter, signal, outages)


def _watch(exporter: Any, signal: str, outages: ExportOutages) -> None:
    if getattr(exporter, "_logger_app_watched", False):
        return
    export: Callable[..., Any] = exporter.export
    endpoint = str(getattr(exporter, "_endpoint", ""))

    def export_and_report(*args: Any, **kwargs: Any) -> Any:
        result = export(*args, **kwargs)
        outages.exported(signal, endpoint, succeeded=result in SUCCESS)
        return result

    exporter.export = export_and_report
    exporter._logger_app_watched = True
