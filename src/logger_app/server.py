"""uvicorn's own command line, exiting 0 after a graceful shutdown on SIGTERM, and within a
bounded time however the collector is doing.

After draining on SIGTERM uvicorn raises the signal again with the handler that was in place
when it started; by default that kills the process (exit status 143). ECS stops tasks with
SIGTERM, and a clean stop should look clean, so that handler exits 0 instead. Then the last
telemetry flush gets a fixed time (logger_app.telemetry_shutdown), not the exporters' retries;
a configuration error exits at once, with no flush.
"""

import signal
import sys

import uvicorn

from logger_app.telemetry_shutdown import exit_at_once, shutdown_telemetry


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.main()
    except SystemExit as stop:
        # A message, not a status: the app refused its configuration while loading.
        if isinstance(stop.code, str):
            exit_at_once(stop.code)
        raise
    finally:
        shutdown_telemetry()


if __name__ == "__main__":
    main()
