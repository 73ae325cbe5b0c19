"""A stop is quick however the collector is doing: `logger-app serve` as a real process, under
opentelemetry-instrument with its production exporters (OTLP/gRPC), pointed at a port where no
collector listens. The exporters retry a failed export for up to 10 s; the last flush is
bounded (logger_app.telemetry_shutdown), so SIGTERM to exit 0 stays under 2 s, as
`docker stop` in tests/containers/test_image.py needs."""

import signal
import time

from harness.processes import free_port
from tests.integration.test_process import patient, post
from tests.support import app_process


def test_sigterm_exits_0_within_2_seconds_with_no_collector_listening(aws: str) -> None:
    nothing_listens = f"http://127.0.0.1:{free_port()}"
    with app_process({"OTEL_EXPORTER_OTLP_ENDPOINT": nothing_listens}) as (process, url):
        # A trace and metrics are waiting to be exported when the stop comes.
        assert post(url + "/v1/signups", patient())[0] == 201
        time.sleep(0.5)

        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        elapsed = time.monotonic() - started

    assert elapsed <= 2.0, f"SIGTERM to exit took {elapsed:.1f}s"
