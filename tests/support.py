"""Helpers of the test suites alone (what the benchmark shares with them is in harness/): a
local HTTP double in a thread, the app as a real process."""

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from harness.issuer import ISSUER_ENV
from harness.processes import BIN, free_port, wait_for_http


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` served on a free loopback port, in a thread; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def app_process(
    environment: dict[str, str], *, local_issuer: bool = True, stdout: Any = subprocess.PIPE
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``logger-app serve`` as a real process (as in the image); yields it and its base URL.

    It trusts the tests' local issuer unless `local_issuer` is False (the environment then
    names another)."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "logger-app"), "serve", "--port", str(port)],
        env={**os.environ, **(ISSUER_ENV if local_issuer else {}), **environment},
        stdout=stdout,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/readyz", timeout=30)
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
