"""What the app tells the outside: trace context in SQS messages, spans, counters, logs."""

import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_trace_id

from tests.integration.conftest import Counters, Logs, _metric_reader, settle

PATIENT = {"email": "mary.seacole@example.org", "full_name": "Mary Seacole"}


def test_sqs_message_carries_the_request_trace(
    client: TestClient,
    spans: InMemorySpanExporter,
    queue: Callable[[], list[dict[str, Any]]],
) -> None:
    client.post("/v1/signups", json=PATIENT)
    settle(client)

    [message] = queue()
    server = next(s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER)
    trace_id = format_trace_id(server.context.trace_id)
    traceparent = message["attributes"]["traceparent"]
    assert traceparent.split("-")[1] == trace_id
    assert message["attributes"]["event_type"] == "patient.signed_up"


def test_signup_trace_has_dynamodb_and_sqs_client_spans(
    client: TestClient, spans: InMemorySpanExporter
) -> None:
    client.post("/v1/signups", json=PATIENT)
    settle(client)

    finished = spans.get_finished_spans()
    server = next(s for s in finished if s.kind is SpanKind.SERVER)
    by_name = {s.name: s for s in finished}
    assert by_name["DynamoDB.TransactWriteItems"].parent == server.context
    # The event's send span: from commit until SQS had it, a child of the request, with the
    # SendMessageBatch beneath it (the outbox's BatchWriteItem is bookkeeping, untraced).
    send = by_name["send logger-app-events"]
    assert send.kind is SpanKind.PRODUCER
    assert send.parent == server.context
    assert send.attributes["messaging.batch.message_count"] == 1
    assert by_name["SQS.SendMessageBatch"].parent == send.context
    assert "DynamoDB.BatchWriteItem" not in by_name
    assert {s.context.trace_id for s in finished} == {server.context.trace_id}
    # No per-message "http send" / "http receive" spans: they cost CPU and say nothing.
    assert not [s.name for s in finished if s.kind is SpanKind.INTERNAL]


def test_health_endpoints_are_not_traced(client: TestClient, spans: InMemorySpanExporter) -> None:
    client.get("/healthz")
    assert client.get("/readyz").status_code == 200

    assert spans.get_finished_spans() == ()  # not even readiness's AWS calls


def test_logs_are_json_with_trace_ids_and_event_names(client: TestClient, logs: Logs) -> None:
    response = client.get(f"/v1/records/{uuid.uuid4()}")

    lines = logs()
    [not_found] = [line for line in lines if line["event"] == "record.not_found"]
    assert not_found["trace_id"] == response.json()["trace_id"]
    assert len(not_found["span_id"]) == 16
    assert not_found["level"] == "INFO"
    assert not_found["logger"] == "logger_app.records"
    assert not_found["service"] == "logger-app"
    assert not_found["time"].endswith("Z")
    [request] = [line for line in lines if line["event"] == "http.request"]
    assert request["route"] == "/v1/records/{id}"
    assert request["status"] == 404


def test_no_personal_data_in_logs_spans_or_metric_labels(
    client: TestClient, spans: InMemorySpanExporter, logs: Logs
) -> None:
    client.post("/v1/signups", json=PATIENT)
    client.post("/v1/signups", json=PATIENT)  # duplicate: the error path logs too
    client.post("/v1/signups", json={**PATIENT, "email": "not-an-email"})

    secrets = ("mary", "seacole", "example.org")
    log_text = str(logs()).lower()
    span_text = str([(s.name, dict(s.attributes or {})) for s in spans.get_finished_spans()])
    data = _metric_reader.get_metrics_data()
    metric_text = str(
        [
            dict(point.attributes or {})
            for rm in (data.resource_metrics if data else [])
            for sm in rm.scope_metrics
            for metric in sm.metrics
            for point in metric.data.data_points
        ]
    )
    assert "signup.created" in log_text  # the logs were captured at all
    for secret in secrets:
        assert secret not in log_text
        assert secret not in span_text.lower()
        assert secret not in metric_text.lower()


def test_signup_counter_by_outcome(client: TestClient, counters: Counters) -> None:
    before = counters.value("logger_app.signups", outcome="created")
    client.post("/v1/signups", json=PATIENT)
    assert counters.value("logger_app.signups", outcome="created") == before + 1


def test_aws_call_durations_by_service_operation_and_outcome(
    client: TestClient, counters: Counters
) -> None:
    name = "logger_app.aws.call.duration"
    write = {"service": "DynamoDB", "operation": "TransactWriteItems", "outcome": "ok"}
    send = {"service": "SQS", "operation": "SendMessageBatch", "outcome": "ok"}
    before = counters.value(name, **write), counters.value(name, **send)

    client.post("/v1/signups", json=PATIENT)
    settle(client)

    assert (counters.value(name, **write), counters.value(name, **send)) == (
        before[0] + 1,
        before[1] + 1,
    )


def test_every_counter_series_exists_from_the_start(client: TestClient, counters: Counters) -> None:
    """Recorded at zero when the process starts: a series born holding its first count would
    be invisible to the dashboards' first increase."""
    assert client.get("/healthz").status_code == 200  # the app has started; nothing else yet
    signups = counters.attribute_sets("logger_app.signups")
    assert {s["outcome"] for s in signups} >= {
        "created",
        "duplicate",
        "replayed",
        "rejected",
        "failed",
    }
    records = counters.attribute_sets("logger_app.records")
    assert {(s["kind"], s["outcome"]) for s in records} >= {
        (kind, outcome)
        for kind in ("call_started", "call_ended", "message", "note")
        for outcome in ("created", "failed")
    }
    publishes = counters.attribute_sets("logger_app.queue_publishes")
    assert {(s["event"], s["outcome"]) for s in publishes} >= {
        ("patient.signed_up", "failed"),
        ("record.created", "failed"),
    }
