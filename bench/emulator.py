"""moto's server, as `moto_server` runs it, with one lock around its WSGI application.

moto's backends are not thread-safe: under concurrent requests its DynamoDB TransactWriteItems
deep-copies a table while another thread writes to it and answers 500 ("dictionary changed size
during iteration"), which the app would then report as its own 503s. Serialising requests costs
moto almost nothing (its Python code holds the GIL anyway) and keeps HTTP keep-alive, so the app
talks to it as it would to AWS. ``--no-lock`` runs it exactly as `moto_server` does.

Run as ``python -m bench.emulator PORT [--no-lock]``.
"""

import argparse
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler
from werkzeug.serving import run_simple

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


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
    parser.add_argument("--no-lock", action="store_true")
    args = parser.parse_args()
    app: Any = DomainDispatcherApplication(create_backend_app)
    run_simple(
        "127.0.0.1",
        args.port,
        app if args.no_lock else serialised(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
