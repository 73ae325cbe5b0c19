"""A Prometheus remote-write sink for the collector: accepts every write, keeps nothing.

The benchmark measures the app; what the backend does with the metrics is not part of it.
Run as ``python -m bench.sink PORT``.
"""

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(204)
        self.end_headers()

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


def main() -> None:
    port = int(sys.argv[1])
    with ThreadingHTTPServer(("127.0.0.1", port), _Sink) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
