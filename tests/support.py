"""Helpers shared by the test suites: free ports, waiting, an AWS emulator process, access
tokens."""

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from logger_app.local_issuer import mint

BIN = Path(sys.executable).parent

# Every app the tests start trusts this local issuer (its key pair made on first use); the
# processes they start get it through the environment.
ALL_SCOPES = ("signups:write", "records:write", "records:read")
ISSUER_DIR = Path(tempfile.mkdtemp(prefix="logger-app-test-issuer-"))
ISSUER_ENV = {"LOGGER_APP_LOCAL_ISSUER_DIR": str(ISSUER_DIR)}


def token(*scopes: str, lifetime_seconds: int = 3600) -> str:
    """An access token from the tests' local issuer, with these scopes (default: all)."""
    return mint(ISSUER_DIR, scopes or ALL_SCOPES, lifetime_seconds=lifetime_seconds)


def auth_headers(*scopes: str) -> dict[str, str]:
    """The Authorization header of a request with these scopes (default: all)."""
    return {"Authorization": f"Bearer {token(*scopes)}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout}s") from None
            time.sleep(0.05)


def stop_process(process: "subprocess.Popen[Any]", grace: float = 5.0) -> None:
    """Stop a process the tests started: SIGTERM, then SIGKILL once `grace` seconds have
    passed. How long a helper takes to exit is its own business, never a test's failure."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server mode in its own process, on loopback; yields its endpoint URL.

    It is stopped with escalation: moto 5's TransactWriteItems deep-copies every table it
    touches (its rollback copy), and each copy stays referenced by moto's model instance
    tracker, so after a thousand sign-ups the server holds ~850 MB and, on SIGTERM, spends
    over 10 s freeing it before it exits (an idle one exits at once)."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(endpoint + "/moto-api/")
        yield endpoint
    finally:
        stop_process(process)


def reset_moto(endpoint: str) -> None:
    request = urllib.request.Request(endpoint + "/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=5):
        pass


AWS_TEST_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",  # what boto3 itself reads
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",  # the emulator accepts anything
}


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


def apply_aws_test_env(endpoint: str) -> None:
    os.environ.update(AWS_TEST_ENV, AWS_ENDPOINT_URL=endpoint)


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


REPO = Path(__file__).resolve().parents[1]


def built_binary(script: str) -> Path:
    """Run one of the build scripts (``scripts/build-*.sh``) and return the path it prints.

    The first call on a machine builds (minutes); later calls return the cached binary.
    """
    path = REPO / "scripts" / script
    result = subprocess.run(["bash", str(path)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"scripts/{script} failed (exit {result.returncode}); see its header for what it "
            f"needs:\n{result.stderr[-4000:]}"
        )
    return Path(result.stdout.strip().splitlines()[-1])
