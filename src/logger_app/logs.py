"""JSON logs on stdout, one object per line, carrying the active trace and span ids."""

import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from logger_app import synthetic
from logger_app.log_events import API_SERVICE
from logger_app.settings import Settings
from logger_app.telemetry_exporters import exporters, reconnect_quickly
from logger_app.telemetry_outage import ExportOutages, watch_exporters
from logger_app.tracing import current_span_id, current_trace_id

SERVICE_NAME = API_SERVICE
# The process's one record of which signals are failing to export (its stdout handler's filter).
EXPORT_OUTAGES = ExportOutages()


class ServiceJsonFormatter(JsonFormatter):
    def __init__(self, environment: str, service: str = SERVICE_NAME) -> None:
        # uvicorn adds an ANSI-coloured copy of its messages: not for JSON.
        super().__init__(reserved_attrs=[*RESERVED_ATTRS, "event", "color_message"])
        self._environment = environment
        self._service = service

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        # Set first so every line starts with the same fields in the same order.
        log_data["time"] = (
            datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="microseconds")
            .replace("+00:00", "Z")
        )
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.getMessage()
        log_data["event"] = getattr(record, "event", "")
        log_data["service"] = self._service
        log_data["environment"] = self._environment
        log_data["trace_id"] = current_trace_id()
        log_data["span_id"] = current_span_id()
        if synthetic.is_synthetic():  # logger-app verify's: staff views leave these lines out
            log_data["synthetic"] = True
        super().add_fields(log_data, record, message_dict)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stdout)
    # The service the process's traces and metrics name (`logger-app worker` sets the
    # worker's, log_events.WORKER_SERVICE), so its lines say the same even when they share a stream.
    service = os.environ.get("OTEL_SERVICE_NAME", SERVICE_NAME)
    handler.setFormatter(ServiceJsonFormatter(settings.environment, service))
    handler.addFilter(EXPORT_OUTAGES)
    # Here because both processes configure their logging once opentelemetry-instrument has
    # made the exporters, and before anything is exported.
    watch_exporters(EXPORT_OUTAGES)
    for _, exporter in exporters():
        reconnect_quickly(exporter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level)

    # uvicorn configures its own text handlers before it imports the app: route them to ours.
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    # The service logs each request itself, without the client address (personal data).
    logging.getLogger("uvicorn.access").disabled = True
    # While the collector is down the exporters warn on every retry and at shutdown, and log an
    # error per failed batch: the outage is said once instead (logger_app.telemetry_outage).
    logging.getLogger("opentelemetry.exporter.otlp").setLevel(logging.ERROR)
    # botocore narrates credential and endpoint discovery at INFO.
    logging.getLogger("botocore").setLevel(logging.WARNING)
