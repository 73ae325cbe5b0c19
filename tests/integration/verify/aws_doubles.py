"""What the AWS sink tests share: clients of moto's server, a trace id as the app makes them,
and an AWS endpoint that refuses every call with one error code."""

import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal

import boto3

from harness.emulator import AWS_TEST_ENV
from logger_app.verify.aws import CLIENT_CONFIG
from tests.support import http_server

REGION = AWS_TEST_ENV["AWS_REGION"]


def client(service: Literal["xray", "logs"], endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=CLIENT_CONFIG,
    )


def new_trace_id() -> str:
    """As the xray id generator makes them: the epoch seconds, then 24 random hex digits."""
    return f"{int(time.time()):08x}{secrets.token_hex(12)}"


@contextmanager
def refusing_endpoint(status: int, code: str) -> Iterator[str]:
    """An AWS endpoint answering every request with this error (header and body, as the JSON
    and REST-JSON protocols carry it)."""

    class Refuse(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            body = json.dumps({"__type": code, "message": "refused"}).encode()
            self.send_response(status)
            self.send_header("x-amzn-ErrorType", code)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with http_server(Refuse) as url:
        yield url
