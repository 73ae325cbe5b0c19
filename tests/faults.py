"""A loopback proxy between boto3 and moto that injects AWS-shaped faults.

Faults are matched on the ``X-Amz-Target`` header (``DynamoDB_20120810.TransactWriteItems``,
``AmazonSQS.SendMessage``), which both services' JSON protocols send. Most act before the
request reaches moto (``slow`` holds it, then forwards it); ``lose_answer`` and ``late_answer``
forward it at once, so moto applies it, then drop the connection without an answer or hold the
answer back for the delay: the call's outcome is lost to the client, as when a network or
DynamoDB stalls after a commit.
"""

import contextlib
import http.client
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit

FaultKind = Literal[
    "throttle", "error500", "slow", "drop", "refuse_first_entry", "lose_answer", "late_answer"
]

_ERROR_BODIES = {
    "throttle": (
        400,
        {
            "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
            "message": "Rate exceeded",
        },
    ),
    "error500": (500, {"__type": "InternalServerError", "message": "Internal server error"}),
}


@dataclass
class Fault:
    target: str  # prefix of X-Amz-Target, e.g. "DynamoDB_20120810." or "AmazonSQS.SendMessage"
    kind: FaultKind
    times: int | None = None  # None: until cleared
    delay_seconds: float = 0.0
    hits: int = 0


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                proxy.handle(self)

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def inject(
        self, target: str, kind: FaultKind, times: int | None = None, delay: float = 0
    ) -> Fault:
        fault = Fault(target, kind, times, delay)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def _match(self, target: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if target.startswith(fault.target) and (
                    fault.times is None or fault.hits < fault.times
                ):
                    fault.hits += 1
                    return fault
        return None

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        fault = self._match(request.headers.get("X-Amz-Target", ""))
        if fault and fault.kind == "drop":
            request.close_connection = True
            request.connection.close()
            return
        if fault and fault.kind == "slow":
            time.sleep(fault.delay_seconds)
        if fault and fault.kind == "refuse_first_entry":
            self._refuse_first_entry(request, body)
            return
        if fault and fault.kind == "lose_answer":
            self._exchange(request, body)  # moto applies it; its answer never reaches the client
            request.close_connection = True
            request.connection.close()
            return
        if fault and fault.kind == "late_answer":
            answer = self._exchange(request, body)  # applied by moto at once, answered late
            time.sleep(fault.delay_seconds)
            with contextlib.suppress(OSError):  # the client may have given up by now
                self._reply(request, *answer)
            return
        if fault and fault.kind in _ERROR_BODIES:
            status, payload = _ERROR_BODIES[fault.kind]
            self._reply(
                request,
                status,
                {"Content-Type": "application/x-amz-json-1.0"},
                json.dumps(payload).encode(),
            )
            return
        self._forward(request, body)

    def _forward(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        self._reply(request, *self._exchange(request, body))

    def _exchange(
        self, request: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        upstream = http.client.HTTPConnection(
            self.upstream.hostname, self.upstream.port, timeout=30
        )
        try:
            headers = {
                k: v
                for k, v in request.headers.items()
                if k.lower() not in ("host", "content-length")
            }
            upstream.request(request.command, request.path, body=body, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
            headers = {
                k: v
                for k, v in response.getheaders()
                if k.lower() not in ("content-length", "transfer-encoding", "connection")
            }
            return response.status, headers, payload
        finally:
            upstream.close()

    def _refuse_first_entry(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        """A SendMessageBatch that SQS half accepts: the other entries are sent, the first
        comes back in ``Failed`` with ``SenderFault`` false (worth retrying), as AWS reports
        a partial failure."""
        batch = json.loads(body)
        first, others = batch["Entries"][0], batch["Entries"][1:]
        status, headers = 200, {"Content-Type": "application/x-amz-json-1.0"}
        answer: dict[str, list[dict[str, object]]] = {"Successful": []}
        if others:
            status, headers, payload = self._exchange(
                request, json.dumps({**batch, "Entries": others}).encode()
            )
            answer = json.loads(payload)
        answer["Failed"] = [
            *answer.get("Failed", []),
            {
                "Id": first["Id"],
                "SenderFault": False,
                "Code": "InternalError",
                "Message": "refused by the fault proxy",
            },
        ]
        self._reply(request, status, headers, json.dumps(answer).encode())

    @staticmethod
    def _reply(
        request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], payload: bytes
    ) -> None:
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream)
    thread = threading.Thread(target=proxy.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.server.shutdown()
        proxy.server.server_close()
