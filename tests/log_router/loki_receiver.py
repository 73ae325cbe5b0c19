"""A stand-in for Loki's push API (`POST /loki/api/v1/push`), recording what it receives.

Loki cannot run here (its code is AGPL and marked not-to-use), so the log-path tests receive the
router's pushes themselves, in both encodings Loki accepts (Loki's HTTP API docs, "Ingest
logs"): JSON (optionally gzip-compressed, as Fluent Bit's `compress gzip` sends it) and
snappy-compressed protobuf (`logproto.PushRequest`, from Loki's pkg/push/push.proto). It answers
204 as Loki does, and can be taken down and brought back on the same port. It also answers
Loki's readiness probe (`GET /ready`), for the compose stack's Loki stand-in
(tests/containers/standins/loki), which runs it in a container.

For `logger-app verify` (tests/e2e/test_e2e_verify.py) it also answers Loki's query API,
`GET /loki/api/v1/query_range` (Loki's HTTP API docs, "Query logs within a range of time"),
over the entries it really received, for the part of LogQL verify sends: a stream selector of
`=` matchers followed by any number of `|= "text"` line filters, within `start`..`end`
(nanoseconds), answered as `resultType: streams`. Anything else is refused with 400.
"""

import gzip
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import cramjam

PUSH_PATH = "/loki/api/v1/push"
READY_PATH = "/ready"
QUERY_RANGE_PATH = "/loki/api/v1/query_range"
LINE_FILTER = re.compile(r'\|=\s*"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class PushedEntry:
    labels: dict[str, str]
    timestamp_ns: int
    line: str
    structured_metadata: dict[str, str]

    @property
    def record(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.line)
        return parsed


def decode_json(body: bytes) -> list[PushedEntry]:
    """`{"streams": [{"stream": {labels}, "values": [[ns, line, {metadata}?], ...]}]}`."""
    entries = []
    for stream in json.loads(body)["streams"]:
        labels = dict(stream["stream"])
        for value in stream["values"]:
            metadata = dict(value[2]) if len(value) > 2 else {}
            entries.append(PushedEntry(labels, int(value[0]), value[1], metadata))
    return entries


def decode_protobuf(body: bytes) -> list[PushedEntry]:
    """PushRequest{streams=1: Stream{labels=1: string, entries=2: Entry{timestamp=1:
    Timestamp{seconds=1, nanos=2}, line=2, structuredMetadata=3: LabelPair{name=1, value=2}}}}."""
    entries = []
    for stream in _fields(body).get(1, []):
        stream_fields = _fields(stream)
        labels = parse_label_set(stream_fields[1][0].decode())
        for entry in stream_fields.get(2, []):
            entry_fields = _fields(entry)
            stamp = _fields(entry_fields[1][0])
            seconds = stamp.get(1, [0])[0]
            nanos = stamp.get(2, [0])[0]
            metadata = {}
            for pair in entry_fields.get(3, []):
                pair_fields = _fields(pair)
                metadata[pair_fields[1][0].decode()] = pair_fields[2][0].decode()
            line = entry_fields.get(2, [b""])[0].decode()
            entries.append(PushedEntry(labels, seconds * 10**9 + nanos, line, metadata))
    return entries


def parse_label_set(text: str) -> dict[str, str]:
    """Loki's label-set string, e.g. `{service="logger-app", level="INFO"}`."""
    labels: dict[str, str] = {}
    rest = text.strip().removeprefix("{").removesuffix("}")
    while rest.strip():
        name, _, rest = rest.strip().lstrip(",").strip().partition("=")
        value, consumed = _quoted(rest)
        labels[name.strip()] = value
        rest = rest[consumed:]
    return labels


MATCHER = re.compile(r"\s*,?\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*")


def parse_selector(text: str) -> list[tuple[str, str, str]]:
    """A LogQL stream selector's matchers, e.g. `{service=~"a|b", level!="DEBUG"}`, as
    (label, operator, value): the four operators of Loki's docs, regular expressions anchored
    at both ends as Loki anchors them."""
    matchers = []
    rest = text.strip().removeprefix("{").removesuffix("}")
    while rest.strip():
        found = MATCHER.match(rest)
        assert found, f"unsupported stream selector: {text}"
        value, consumed = _quoted(rest[found.end() :])
        matchers.append((found[1], found[2], value))
        rest = rest[found.end() + consumed :]
    return matchers


def selects(matchers: list[tuple[str, str, str]], labels: dict[str, str]) -> bool:
    for name, operator, value in matchers:
        actual = labels.get(name, "")
        if operator == "=" and actual != value:
            return False
        if operator == "!=" and actual == value:
            return False
        if operator == "=~" and not re.fullmatch(value, actual):
            return False
        if operator == "!~" and re.fullmatch(value, actual):
            return False
    return True


def _quoted(text: str) -> tuple[str, int]:
    assert text[0] == '"', text
    index, value = 1, []
    while text[index] != '"':
        if text[index] == "\\":
            index += 1
        value.append(text[index])
        index += 1
    return "".join(value), index + 1


def _varint(data: bytes, index: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[index]
        index += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, index


def _fields(data: bytes) -> dict[int, list[Any]]:
    """Protobuf wire format: field number -> values (varints as int, length-delimited as bytes)."""
    fields: dict[int, list[Any]] = {}
    index = 0
    while index < len(data):
        key, index = _varint(data, index)
        number, wire_type = key >> 3, key & 7
        value: Any
        if wire_type == 0:
            value, index = _varint(data, index)
        elif wire_type == 2:
            length, index = _varint(data, index)
            value, index = data[index : index + length], index + length
        else:
            raise ValueError(f"unexpected protobuf wire type {wire_type}")
        fields.setdefault(number, []).append(value)
    return fields


class LokiReceiver:
    """Loki's push endpoint on `host`:`port`; `entries` holds everything accepted, and
    `on_push` (if given) is called with each push's entries before it is answered."""

    def __init__(
        self,
        port: int,
        host: str = "127.0.0.1",
        on_push: Callable[[list[PushedEntry]], None] | None = None,
    ) -> None:
        self.port = port
        self.host = host
        self.url = f"http://127.0.0.1:{port}"
        self.entries: list[PushedEntry] = []
        self.pushes = 0
        self._on_push = on_push
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != PUSH_PATH:
                    self.send_error(404)
                    return
                try:
                    entries = receiver.decode(
                        body,
                        self.headers.get("Content-Type", ""),
                        self.headers.get("Content-Encoding", ""),
                    )
                except (ValueError, KeyError, IndexError) as error:
                    self.send_error(400, str(error))
                    return
                with receiver._lock:
                    if receiver._on_push is not None:
                        receiver._on_push(entries)
                    receiver.entries.extend(entries)
                    receiver.pushes += 1
                self.send_response(204)
                self.end_headers()

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == QUERY_RANGE_PATH:
                    try:
                        answer = receiver.query_range(parse_qs(url.query))
                    except (ValueError, KeyError, IndexError, AssertionError) as error:
                        self.send_error(400, str(error))
                        return
                    body = json.dumps(answer).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if self.path != READY_PATH:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ready\n")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    @staticmethod
    def decode(body: bytes, content_type: str, content_encoding: str) -> list[PushedEntry]:
        if content_encoding == "gzip":
            body = gzip.decompress(body)
        if content_type.startswith("application/json"):
            return decode_json(body)
        if content_type.startswith("application/x-protobuf"):
            return decode_protobuf(bytes(cramjam.snappy.decompress_raw(body)))
        raise ValueError(f"unsupported Content-Type {content_type!r}")

    def query_range(self, params: dict[str, list[str]]) -> dict[str, Any]:
        """The entries matching `query` in [start, end], grouped by stream, as Loki answers."""
        query = params["query"][0]
        selector, _, pipeline = query.partition("}")
        matchers = parse_selector(selector + "}")
        filters = [json.loads(f'"{text}"') for text in LINE_FILTER.findall(pipeline)]
        assert LINE_FILTER.sub("", pipeline).strip() == "", f"unsupported LogQL: {query}"
        now = time.time_ns()
        start = int(params.get("start", [str(now - 3600 * 10**9)])[0])
        end = int(params.get("end", [str(now)])[0])
        streams: dict[tuple[tuple[str, str], ...], list[list[str]]] = {}
        for entry in self.snapshot():
            if (
                selects(matchers, entry.labels)
                and all(text in entry.line for text in filters)
                and start <= entry.timestamp_ns <= end
            ):
                key = tuple(sorted(entry.labels.items()))
                streams.setdefault(key, []).append([str(entry.timestamp_ns), entry.line])
        result = [{"stream": dict(key), "values": values} for key, values in streams.items()]
        return {"status": "success", "data": {"resultType": "streams", "result": result}}

    def stop(self) -> None:
        """Down: the port refuses connections until start() again."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def snapshot(self) -> list[PushedEntry]:
        with self._lock:
            return list(self.entries)
