"""The spans the collector exported: a sign-up's server span, its DynamoDB client span and its
event's send span in one trace, under X-Ray compatible trace ids."""

import time
from collections.abc import Callable

import pytest

from tests.collector.otelcol import MAY_BUILD_COLLECTOR
from tests.e2e.app import App
from tests.e2e.processes import poll
from tests.e2e.traces import CLIENT, PRODUCER, SERVER, Span
from tests.e2e.traffic import Traffic

pytestmark = [pytest.mark.e2e, MAY_BUILD_COLLECTOR]


def signup_trace_id(app: App, patient_id: str) -> str:
    [line] = [
        line
        for line in app.log_lines()
        if line["event"] == "signup.created" and line.get("patient_id") == patient_id
    ]
    trace_id: str = line["trace_id"]
    return trace_id


def trace(
    spans: Callable[[], list[Span]], trace_id: str, until: Callable[[list[Span]], bool]
) -> list[Span]:
    return poll(lambda: [s for s in spans() if s.trace_id == trace_id], until=until)


def _send_span(found: list[Span]) -> Span | None:
    return next((s for s in found if s.kind == PRODUCER and s.name.startswith("send ")), None)


def _complete_signup(found: list[Span]) -> bool:
    services = {s.aws_service for s in found}
    return (
        "DynamoDB" in services
        and _send_span(found) is not None
        and any(s.kind == SERVER for s in found)
    )


def _ancestor(span: Span, by_id: dict[str, Span]) -> Span:
    while span.parent_span_id in by_id:
        span = by_id[span.parent_span_id]
    return span


def test_signup_server_dynamodb_and_publish_spans_share_one_trace(
    app: App, traffic: Traffic, spans: Callable[[], list[Span]]
) -> None:
    trace_id = signup_trace_id(app, traffic.signup.json()["patient_id"])
    found = trace(spans, trace_id, until=_complete_signup)

    [server] = [s for s in found if s.kind == SERVER]
    assert server.attributes.get("http.route") == "/v1/signups"
    dynamodb = [s for s in found if s.aws_service == "DynamoDB"]
    assert "TransactWriteItems" in {s.attributes.get("rpc.method") for s in dynamodb}
    # The event leaves after the answer, in a batch: its send span still joins the request.
    send = _send_span(found)
    assert send is not None
    assert send.attributes["messaging.system"] == "aws_sqs"
    assert send.attributes["logger_app.event_type"] == "patient.signed_up"
    by_id = {s.span_id: s for s in found}
    for span in [*dynamodb, send, *(s for s in found if s.aws_service == "SQS")]:
        assert span.kind in {CLIENT, PRODUCER}
        assert _ancestor(span, by_id) == server, f"{span.name} does not descend from the server"


def test_each_batch_send_is_traced_under_an_event_send_span(
    traffic: Traffic, spans: Callable[[], list[Span]]
) -> None:
    def batch_sends(found: list[Span]) -> list[Span]:
        return [s for s in found if s.attributes.get("rpc.method") == "SendMessageBatch"]

    found = poll(spans, until=lambda found: bool(batch_sends(found)))
    by_id = {s.span_id: s for s in found}
    for batch in batch_sends(found):
        parent = by_id[batch.parent_span_id]
        assert parent.kind == PRODUCER
        assert parent.name.startswith("send ")


def test_trace_ids_are_xray_compatible(
    traffic: Traffic, spans: Callable[[], list[Span]], session_started: float
) -> None:
    found = poll(spans, until=bool)
    assert found
    for trace_id in {s.trace_id for s in found}:
        assert len(trace_id) == 32
        # X-Ray rejects ids whose first 8 hex digits are not the epoch seconds of the trace.
        epoch = int(trace_id[:8], 16)
        assert session_started - 60 <= epoch <= time.time() + 60, trace_id


def test_spans_carry_the_service_resource(
    traffic: Traffic, spans: Callable[[], list[Span]]
) -> None:
    found = poll(lambda: [s for s in spans() if s.kind == SERVER], until=bool)
    for span in found:
        assert span.resource["service.name"] == "logger-app"
        # Traces keep the per-task attributes (X-Ray shows them); only metrics drop them.
        assert span.resource["aws.ecs.task.arn"].startswith("arn:aws:ecs:")
