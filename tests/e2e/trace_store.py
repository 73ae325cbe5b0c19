"""A stand-in for Tempo's trace-by-id API, `GET /api/traces/<trace id>`, over the spans the e2e
collector really exported (its file exporter's OTLP/JSON, tests/e2e/traces.py).

Tempo cannot run here (its code is AGPL and marked not-to-use). Like Tempo's v1 endpoint it
answers a trace's resource spans as `{"batches": [...]}` (OTLP JSON) and 404 for a trace it
does not hold; it can be taken down and brought back on the same port. It is also the query
half of the compose stack's Tempo stand-in (tests/containers/standins/tempo), which runs it as

    python3 trace_store.py FILE PORT     serves FILE's spans on 0.0.0.0:PORT
"""

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TRACES_PATH = "/api/traces/"


def resource_spans(paths: list[Path], trace_id: str) -> list[dict[str, Any]]:
    """Each exported resource-spans of the files, cut down to the trace's spans."""
    found = []
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            for resource in json.loads(line).get("resourceSpans", []):
                scopes = []
                for scope in resource.get("scopeSpans", []):
                    spans = [s for s in scope.get("spans", []) if s["traceId"] == trace_id]
                    if spans:
                        scopes.append({**scope, "spans": spans})
                if scopes:
                    found.append({**resource, "scopeSpans": scopes})
    return found


class TraceStore:
    def __init__(
        self, trace_files: Callable[[], list[Path]], port: int, host: str = "127.0.0.1"
    ) -> None:
        self.port = port
        self.host = host
        self.url = f"http://{host}:{self.port}"
        self._trace_files = trace_files
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        store = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not self.path.startswith(TRACES_PATH):
                    self.send_error(404)
                    return
                trace_id = self.path.removeprefix(TRACES_PATH).lower()
                batches = resource_spans(store._trace_files(), trace_id)
                if not batches:
                    self.send_error(404, "trace not found")
                    return
                body = json.dumps({"batches": batches}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()


def main(arguments: list[str]) -> None:
    path, port = Path(arguments[0]), int(arguments[1])
    store = TraceStore(lambda: [path], port, host="0.0.0.0")  # all of its container's interfaces
    store.start()
    threading.Event().wait()


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
