"""The last flush of traces and metrics when the process stops, bounded in time.

opentelemetry-instrument's providers flush at exit, and their OTLP exporters retry a failed
export, backing off, for up to ``OTEL_EXPORTER_OTLP_TIMEOUT`` (10 s): with no collector
listening, a stopped container would take 7-10 s to exit, and `docker stop` (10 s) or ECS
(its stop timeout) would kill it. This gives the flush a fixed time and then lets the process
exit; what was not exported by then is lost, as it would be at the kill.
"""

import os
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import NoReturn

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

# A collector sidecar on localhost takes milliseconds; this only caps the wait for one that is
# not there. Measured: uvicorn stops in ~0.25 s and the interpreter exits in ~0.5 s more, so a
# stop takes ~1.3 s in all (docker stop: tests/containers).
FLUSH_SECONDS = 0.5


def shutdown_telemetry(
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
    timeout_seconds: float = FLUSH_SECONDS,
) -> None:
    """Flush and shut down the providers (the global ones by default) together, waiting at
    most `timeout_seconds`.

    Each shutdown runs in a daemon thread, so one still retrying at the deadline is left to
    end with the process (the SDK's own exit handlers then find the providers shut down and
    return at once). Without the SDK (OTEL_SDK_DISABLED, or not under opentelemetry-instrument)
    the global providers are no-ops and this does nothing.
    """
    deadline = time.monotonic() + timeout_seconds
    shutdowns: list[Callable[[], object]] = []
    tracer_provider = tracer_provider or trace.get_tracer_provider()
    if isinstance(tracer_provider, TracerProvider):
        shutdowns.append(tracer_provider.shutdown)
    meter_provider = meter_provider or metrics.get_meter_provider()
    if isinstance(meter_provider, MeterProvider):
        # Past its own timeout it shuts its exporter down, which ends the retries; given a
        # little less than ours, it is done (and has left the SDK's exit handler) by then.
        shutdowns.append(partial(meter_provider.shutdown, timeout_millis=timeout_seconds * 800))
    threads = [
        threading.Thread(target=shutdown, name="telemetry-shutdown", daemon=True)
        for shutdown in shutdowns
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def exit_at_once(message: str) -> NoReturn:
    """Stop a process that could not start (its configuration is wrong): the message on stderr,
    exit status 1, and no flush at all. It has served nothing worth exporting, and the SDK's exit
    handlers would spend seconds retrying a collector that may not be there, printing their
    retries after the line that matters (logging is not configured yet)."""
    sys.stdout.flush()
    print(message, file=sys.stderr, flush=True)
    os._exit(1)
