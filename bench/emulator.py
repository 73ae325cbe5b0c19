"""moto's server application (what `moto_server` serves), behind a lock, on a keep-alive server.

Two departures from `moto_server`, both so that the emulator's flaws are not charged to the app:
- moto's backends are not thread-safe: under concurrent requests its DynamoDB
  TransactWriteItems deep-copies a table while another thread writes to it and answers 500
  ("dictionary changed size during iteration"), which the app would then report as its own 503s.
  One lock serialises the requests; this costs moto almost nothing, since its Python code holds
  the GIL anyway.
- `moto_server` runs on werkzeug's development server, which answers every request with
  `Connection: close`: each boto3 call would then pay a TCP connect and close in the app, which
  AWS (keep-alive) does not cost. waitress keeps connections alive, as AWS does.

Every 5xx answer is written to stderr as a line starting with ``EMULATOR_5XX``, for the harness
to count. ``--werkzeug`` and ``--no-lock`` bring back either behaviour of `moto_server`.

Run as ``python -m bench.emulator PORT [--werkzeug] [--no-lock]``.
"""

import argparse
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

import waitress  # type: ignore[import-untyped]
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
SERVER_ERROR_MARKER = "EMULATOR_5XX"


def counted(app: WsgiApp) -> WsgiApp:
    def wrapper(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            if status.startswith("5"):
                print(f"{SERVER_ERROR_MARKER} {status}", file=sys.stderr, flush=True)
            return start_response(status, headers, *args)

        return app(environ, start)

    return wrapper


def serialised(app: WsgiApp) -> WsgiApp:
    lock = threading.Lock()

    def locked(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            # The whole body is produced under the lock: moto may build it lazily.
            return list(app(environ, start_response))

    return locked


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.emulator", description=__doc__)
    parser.add_argument("port", type=int)
    parser.add_argument("--no-lock", action="store_true", help="concurrent requests, as moto's")
    parser.add_argument("--werkzeug", action="store_true", help="moto's server, no keep-alive")
    args = parser.parse_args()
    moto: WsgiApp = DomainDispatcherApplication(create_backend_app)
    app = counted(moto if args.no_lock else serialised(moto))
    if args.werkzeug:
        run_simple("127.0.0.1", args.port, app, threaded=True, request_handler=MotoRequestHandler)
    else:
        waitress.serve(
            app,
            host="127.0.0.1",
            port=args.port,
            threads=1,  # requests are serialised anyway: one thread, no lock contention
            connection_limit=256,
            asyncore_use_poll=True,
            _quiet=True,
        )


if __name__ == "__main__":
    main()
