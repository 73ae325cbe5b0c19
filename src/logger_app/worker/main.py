"""The worker process: ``logger-app worker`` (``python -m logger_app.worker`` under
opentelemetry-instrument), and the worker built from the settings, as that process runs it."""

import signal
import threading
from collections.abc import Mapping

from logger_app.aws import create_clients, create_long_poll_client, require_region_and_credentials
from logger_app.logs import configure_logging
from logger_app.outbox import Outbox
from logger_app.settings import Settings, get_settings
from logger_app.telemetry_shutdown import exit_at_once, shutdown_telemetry
from logger_app.worker.consumer import Worker
from logger_app.worker.effects import Effect, default_effects
from logger_app.worker.queue import EventQueue


def build_worker(
    settings: Settings,
    queue_url: str | None = None,
    effects: Mapping[str, Effect] | None = None,
) -> Worker:
    """The worker with its AWS clients, on the configured queue (or ``queue_url``), with the
    default effects (or ``effects``)."""
    clients = create_clients(settings)
    return Worker(
        EventQueue(clients.sqs, create_long_poll_client(settings), settings, queue_url),
        clients.dynamodb,
        Outbox(clients, settings.outbox_table),
        effects if effects is not None else default_effects(settings.patients_table),
        settings,
    )


def main() -> None:
    try:
        settings = get_settings()
    except SystemExit as invalid:
        exit_at_once(str(invalid.code))
    configure_logging(settings)
    require_region_and_credentials(settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        worker = build_worker(settings)
        worker.queue.observe_depth()
        worker.run(stop)
    finally:
        # The SDK's own flush at exit retries a missing collector for up to 10 s.
        shutdown_telemetry()
