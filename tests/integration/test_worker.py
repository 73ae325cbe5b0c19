"""The event worker against moto: effects, trace continuity, idempotency, dead letters."""

import json
import uuid

import boto3
import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from logger_app.settings import Settings
from logger_app.worker import Worker
from tests.integration.conftest import Counters

PATIENT = {"email": "elizabeth@example.com", "full_name": "Elizabeth Blackwell"}


@pytest.fixture
def worker(aws: str) -> Worker:
    return Worker(Settings(worker_wait_seconds=0, worker_retry_delay_seconds=0), queue_url=aws)


def patient_item(patient_id: str) -> dict[str, dict[str, str]]:
    return boto3.client("dynamodb").get_item(
        TableName="logger-app-patients", Key={"pk": {"S": "patient#" + patient_id}}
    )["Item"]


def test_signup_event_marks_the_patient_welcomed(client: TestClient, worker: Worker) -> None:
    patient_id = client.post("/v1/signups", json=PATIENT).json()["patient_id"]
    assert "welcomed_at" not in patient_item(patient_id)

    assert worker.poll_once() == 1

    assert "welcomed_at" in patient_item(patient_id)
    assert worker.poll_once() == 0  # deleted once handled


def test_consumer_span_is_a_child_of_the_publishing_request(
    client: TestClient, worker: Worker, spans: InMemorySpanExporter
) -> None:
    client.post("/v1/signups", json=PATIENT)
    worker.poll_once()

    finished = spans.get_finished_spans()
    server = next(s for s in finished if s.kind is SpanKind.SERVER)
    consumer = next(s for s in finished if s.kind is SpanKind.CONSUMER)
    assert consumer.name == "patient.signed_up process"
    assert consumer.context.trace_id == server.context.trace_id
    assert consumer.parent is not None
    assert consumer.parent.span_id == server.context.span_id
    # The worker's own DynamoDB call belongs to the same trace.
    assert any(
        s.name == "DynamoDB.TransactWriteItems"
        and s.parent
        and s.parent.span_id == consumer.context.span_id
        for s in finished
    )


def test_a_repeated_delivery_has_no_second_effect(
    client: TestClient, worker: Worker, aws: str, counters: Counters
) -> None:
    record = {"patient_id": str(uuid.uuid4()), "doctor_id": "dr-who", "kind": "call_started"}
    client.post("/v1/records", json=record)
    sqs = boto3.client("sqs")
    [message] = sqs.receive_message(
        QueueUrl=aws, MessageAttributeNames=["All"], VisibilityTimeout=0
    )["Messages"]
    # The same event again, as SQS or a re-published outbox entry would deliver it.
    sqs.send_message(
        QueueUrl=aws, MessageBody=message["Body"], MessageAttributes=message["MessageAttributes"]
    )
    before = counters.value("logger_app.worker_events", event="record.created", outcome="duplicate")

    handled = worker.poll_once() + worker.poll_once()

    assert handled == 2
    doctor = boto3.client("dynamodb").get_item(
        TableName="logger-app-patients", Key={"pk": {"S": "doctor#dr-who"}}
    )["Item"]
    assert doctor["call_started"] == {"N": "1"}
    assert (
        counters.value("logger_app.worker_events", event="record.created", outcome="duplicate")
        == before + 1
    )


def test_poison_messages_end_in_the_dead_letter_queue(
    worker: Worker, aws: str, counters: Counters
) -> None:
    sqs = boto3.client("sqs")
    body = json.dumps({"id": "e-1", "type": "patient.exploded", "data": {}})
    sqs.send_message(
        QueueUrl=aws,
        MessageBody=body,
        MessageAttributes={"event_type": {"DataType": "String", "StringValue": "patient.exploded"}},
    )
    receives = Settings().max_receive_count

    for _ in range(receives + 1):
        worker.poll_once()

    dead_letters = sqs.get_queue_url(QueueName="logger-app-events-dlq")["QueueUrl"]
    [dead] = sqs.receive_message(QueueUrl=dead_letters)["Messages"]
    assert dead["Body"] == body
    assert worker.poll_once() == 0
    assert (
        counters.value("logger_app.worker_events", event="patient.exploded", outcome="failed")
        >= receives - 1
    )
    assert (
        counters.value(
            "logger_app.worker_events", event="patient.exploded", outcome="dead_lettered"
        )
        >= 1
    )


def test_an_event_for_a_missing_patient_is_poison_not_a_crash(worker: Worker, aws: str) -> None:
    body = json.dumps(
        {"id": "e-2", "type": "patient.signed_up", "data": {"patient_id": str(uuid.uuid4())}}
    )
    boto3.client("sqs").send_message(QueueUrl=aws, MessageBody=body)

    assert worker.poll_once() == 1
    assert worker.poll_once() == 1  # back on the queue after the (zero) retry delay
