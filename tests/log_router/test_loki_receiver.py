"""The push-API receiver decodes both encodings Loki accepts. The protobuf payload is built with
the protobuf library from Loki's message definitions (pkg/push/push.proto), not with the
receiver's own decoder, and compressed with snappy as Promtail and Grafana Alloy send it."""

import gzip
import json
from collections.abc import Iterator
from typing import Any

import cramjam
import httpx
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from harness.processes import free_port
from tests.log_router.loki_receiver import PUSH_PATH, LokiReceiver, PushedEntry

FIELD = descriptor_pb2.FieldDescriptorProto


def _push_request_class() -> Any:
    """logproto.PushRequest, declared from push.proto's field numbers and types."""
    proto = descriptor_pb2.FileDescriptorProto(name="push.proto", package="logproto")

    def message(name: str, *fields: tuple[str, int, int, str | None, bool]) -> None:
        described = proto.message_type.add(name=name)
        for field_name, number, kind, type_name, repeated in fields:
            field = described.field.add(
                name=field_name,
                number=number,
                type=kind,
                label=FIELD.LABEL_REPEATED if repeated else FIELD.LABEL_OPTIONAL,
            )
            if type_name:
                field.type_name = type_name

    message(
        "Timestamp",
        ("seconds", 1, FIELD.TYPE_INT64, None, False),
        ("nanos", 2, FIELD.TYPE_INT32, None, False),
    )
    message(
        "LabelPair",
        ("name", 1, FIELD.TYPE_STRING, None, False),
        ("value", 2, FIELD.TYPE_STRING, None, False),
    )
    message(
        "Entry",
        ("timestamp", 1, FIELD.TYPE_MESSAGE, ".logproto.Timestamp", False),
        ("line", 2, FIELD.TYPE_STRING, None, False),
        ("structuredMetadata", 3, FIELD.TYPE_MESSAGE, ".logproto.LabelPair", True),
    )
    message(
        "Stream",
        ("labels", 1, FIELD.TYPE_STRING, None, False),
        ("entries", 2, FIELD.TYPE_MESSAGE, ".logproto.Entry", True),
        ("hash", 3, FIELD.TYPE_UINT64, None, False),
    )
    message("PushRequest", ("streams", 1, FIELD.TYPE_MESSAGE, ".logproto.Stream", True))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("logproto.PushRequest"))


@pytest.fixture
def receiver() -> Iterator[LokiReceiver]:
    started = LokiReceiver(free_port())
    started.start()
    yield started
    started.stop()


EXPECTED = PushedEntry(
    labels={"service": "logger-app", "level": "INFO"},
    timestamp_ns=1_795_950_000_123_456_789,
    line='{"message":"hello \\"there\\""}',
    structured_metadata={"ecs_task_definition": "logger-app:7"},
)


def test_protobuf_with_snappy(receiver: LokiReceiver) -> None:
    request = _push_request_class()()
    stream = request.streams.add(labels='{service="logger-app", level="INFO"}')
    entry = stream.entries.add(line=EXPECTED.line)
    entry.timestamp.seconds, entry.timestamp.nanos = divmod(EXPECTED.timestamp_ns, 10**9)
    entry.structuredMetadata.add(name="ecs_task_definition", value="logger-app:7")
    body = bytes(cramjam.snappy.compress_raw(request.SerializeToString()))
    response = httpx.post(
        receiver.url + PUSH_PATH,
        content=body,
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert response.status_code == 204
    assert receiver.snapshot() == [EXPECTED]


def test_gzipped_json(receiver: LokiReceiver) -> None:
    payload = {
        "streams": [
            {
                "stream": EXPECTED.labels,
                "values": [
                    [str(EXPECTED.timestamp_ns), EXPECTED.line, EXPECTED.structured_metadata]
                ],
            }
        ]
    }
    response = httpx.post(
        receiver.url + PUSH_PATH,
        content=gzip.compress(json.dumps(payload).encode()),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 204
    assert receiver.snapshot() == [EXPECTED]


def test_an_unknown_encoding_is_refused(receiver: LokiReceiver) -> None:
    response = httpx.post(
        receiver.url + PUSH_PATH, content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 400
    assert receiver.snapshot() == []


def test_query_range_selects_streams_and_filters_lines(receiver: LokiReceiver) -> None:
    def push(labels: dict[str, str], ns: int, line: str) -> None:
        payload = {"streams": [{"stream": labels, "values": [[str(ns), line]]}]}
        response = httpx.post(receiver.url + PUSH_PATH, json=payload)
        assert response.status_code == 204

    app = {"service": "logger-app", "level": "INFO"}
    push(app, 10, '{"trace_id": "abc", "event": "http.request"}')
    push(app, 20, '{"trace_id": "def", "event": "http.request"}')
    push({"service": "other", "level": "INFO"}, 30, '{"trace_id": "abc"}')
    push(app, 40, '{"trace_id": "abc", "event": "worker.processed"}')

    def query(logql: str, start: int = 0, end: int = 100) -> Any:
        response = httpx.get(
            receiver.url + "/loki/api/v1/query_range",
            params={"query": logql, "start": str(start), "end": str(end)},
        )
        return response.status_code, response.json() if response.status_code == 200 else None

    status, body = query('{service="logger-app"} |= "abc"')
    assert status == 200
    assert body["data"]["resultType"] == "streams"
    [stream] = body["data"]["result"]
    assert stream["stream"] == app
    assert [value[0] for value in stream["values"]] == ["10", "40"]
    _, body = query('{service="logger-app"} |= "abc" |= "worker.processed"')
    assert [v[0] for s in body["data"]["result"] for v in s["values"]] == ["40"]
    _, body = query('{service="logger-app"} |= "abc"', start=15, end=35)
    assert body["data"]["result"] == []
    # Only the LogQL verify sends: anything else is refused, never silently misread.
    assert query('{service="logger-app"} |~ "a.c"')[0] == 400


def test_query_range_takes_each_matcher_of_a_stream_selector(receiver: LokiReceiver) -> None:
    for service, ns in (("logger-app", 10), ("logger-app-worker", 20), ("logger-app-x", 30)):
        payload = {"streams": [{"stream": {"service": service}, "values": [[str(ns), "t"]]}]}
        assert httpx.post(receiver.url + PUSH_PATH, json=payload).status_code == 204

    def services(selector: str) -> list[str]:
        response = httpx.get(
            receiver.url + "/loki/api/v1/query_range",
            params={"query": f'{selector} |= "t"', "start": "0", "end": "100"},
        )
        assert response.status_code == 200, response.text
        return sorted(s["stream"]["service"] for s in response.json()["data"]["result"])

    # Regular expressions are anchored at both ends, as Loki anchors them.
    assert services('{service=~"logger-app|logger-app-worker"}') == [
        "logger-app",
        "logger-app-worker",
    ]
    assert services('{service!~"logger-app"}') == ["logger-app-worker", "logger-app-x"]
    assert services('{service!="logger-app-x", service=~"logger-app.*"}') == [
        "logger-app",
        "logger-app-worker",
    ]
