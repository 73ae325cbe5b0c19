"""The event worker against moto: effects, trace continuity, idempotency, dead letters."""

import json
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from logger_app.bootstrap import bootstrap
from logger_app.events import Event
from logger_app.settings import Settings
from logger_app.worker.consumer import Worker
from logger_app.worker.effects import default_effects
from logger_app.worker.main import build_worker
from tests.faults import FaultProxy
from tests.integration.conftest import AppFactory, Counters, Logs, existing_patient, settle

PATIENT = {"email": "elizabeth@example.com", "full_name": "Elizabeth Blackwell"}


def new_patient() -> dict[str, str]:
    return {"email": f"p{uuid.uuid4().hex[:10]}@example.com", "full_name": "Test Patient"}


@pytest.fixture
def worker(aws: str) -> Worker:
    return build_worker(
        Settings(worker_wait_seconds=0, worker_retry_delay_seconds=0), queue_url=aws
    )


def patient_item(patient_id: str) -> dict[str, dict[str, str]]:
    return boto3.client("dynamodb").get_item(
        TableName="logger-app-patients", Key={"pk": {"S": "patient#" + patient_id}}
    )["Item"]


def test_signup_event_marks_the_patient_welcomed(client: TestClient, worker: Worker) -> None:
    patient_id = client.post("/v1/signups", json=PATIENT).json()["patient_id"]
    settle(client)
    assert "welcomed_at" not in patient_item(patient_id)

    assert worker.poll_once() == 1

    assert "welcomed_at" in patient_item(patient_id)
    assert worker.poll_once() == 0  # deleted once handled


def test_consumer_span_is_a_child_of_the_publishing_request(
    client: TestClient, worker: Worker, spans: InMemorySpanExporter
) -> None:
    client.post("/v1/signups", json=PATIENT)
    settle(client)
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
    record = {"patient_id": existing_patient(), "doctor_id": "dr-who", "kind": "call_started"}
    client.post("/v1/records", json=record)
    settle(client)
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
    # Counted as "unknown": a message's own event type must not mint metric series.
    assert counters.value("logger_app.worker_events", event="unknown", outcome="failed") >= (
        receives - 1
    )
    assert counters.value("logger_app.worker_events", event="unknown", outcome="dead_lettered") >= 1


def test_an_event_for_a_missing_patient_is_poison_not_a_crash(worker: Worker, aws: str) -> None:
    body = json.dumps(
        {"id": "e-2", "type": "patient.signed_up", "data": {"patient_id": str(uuid.uuid4())}}
    )
    boto3.client("sqs").send_message(QueueUrl=aws, MessageBody=body)

    assert worker.poll_once() == 1
    assert worker.poll_once() == 1  # back on the queue after the (zero) retry delay


def _dead_letters() -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="logger-app-events-dlq")["QueueUrl"]
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])


def test_throttling_longer_than_the_receives_dead_letters_no_valid_event(
    faults: FaultProxy, make_client: AppFactory, counters: Counters, logs: Logs
) -> None:
    patient_id = make_client().post("/v1/signups", json=PATIENT).json()["patient_id"]
    settings = Settings(worker_wait_seconds=1, worker_retry_delay_seconds=1, aws_max_attempts=1)
    worker = build_worker(settings)
    assert worker.receive_limit == 5
    before = {
        outcome: counters.value(
            "logger_app.worker_events", event="patient.signed_up", outcome=outcome
        )
        for outcome in ("processed", "failed", "dead_lettered")
    }
    faults.inject("DynamoDB_20120810.TransactWriteItems", "throttle")
    stop = threading.Event()
    running = threading.Thread(target=worker.run, args=(stop,))
    running.start()
    try:
        # Longer than receives x retry delay (5 x 1 s): enough to dead-letter a counted failure.
        time.sleep(8)
        assert "welcomed_at" not in patient_item(patient_id)
        faults.clear()
        deadline = time.monotonic() + 30
        while "welcomed_at" not in patient_item(patient_id):
            assert time.monotonic() < deadline, "the event was not processed after the throttling"
            time.sleep(0.2)
    finally:
        stop.set()
        running.join(timeout=30)

    assert not _dead_letters()
    after = {
        outcome: counters.value(
            "logger_app.worker_events", event="patient.signed_up", outcome=outcome
        )
        for outcome in before
    }
    assert after == {**before, "processed": before["processed"] + 1}
    backing_off = [line for line in logs() if line["event"] == "worker.backing_off"]
    assert backing_off
    assert {line["error"] for line in backing_off} == {"ThrottlingException"}


def test_the_receive_limit_is_the_queues_own(aws: str, counters: Counters) -> None:
    # A queue whose redrive policy allows 2 receives, while the worker's settings say 5.
    limited = Settings(queue_name="limited-events", max_receive_count=2)
    queue_url = bootstrap(limited)
    boto3.client("sqs").send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps({"id": "e-3", "type": "patient.vanished", "data": {}}),
        MessageAttributes={"event_type": {"DataType": "String", "StringValue": "patient.vanished"}},
    )
    worker = build_worker(
        Settings(queue_name="limited-events", worker_wait_seconds=0, worker_retry_delay_seconds=0)
    )
    before = [
        counters.value("logger_app.worker_events", event="unknown", outcome=outcome)
        for outcome in ("failed", "dead_lettered")
    ]

    assert worker.poll_once() + worker.poll_once() == 2

    assert worker.receive_limit == 2
    failed = {"event": "unknown", "outcome": "failed"}
    dead_lettered = {"event": "unknown", "outcome": "dead_lettered"}
    assert counters.value("logger_app.worker_events", **failed) == before[0] + 1
    assert counters.value("logger_app.worker_events", **dead_lettered) == before[1] + 1


def test_a_failed_delete_neither_drops_the_batch_nor_its_count(
    faults: FaultProxy, make_client: AppFactory, counters: Counters, logs: Logs
) -> None:
    client = make_client()
    patients = [client.post("/v1/signups", json=new_patient()).json()["patient_id"] for _ in "ab"]
    settle(client)
    faults.inject("AmazonSQS.DeleteMessage", "error500")
    worker = build_worker(Settings(worker_wait_seconds=1, worker_retry_delay_seconds=0))
    before = counters.value(
        "logger_app.worker_events", event="patient.signed_up", outcome="processed"
    )

    handled = 0
    for _ in range(5):
        handled += worker.poll_once()
        if handled == 2:
            break

    assert handled == 2
    for patient_id in patients:
        assert "welcomed_at" in patient_item(patient_id)
    assert (
        counters.value("logger_app.worker_events", event="patient.signed_up", outcome="processed")
        == before + 2
    )
    failed_deletes = [line for line in logs() if line["event"] == "worker.delete_failed"]
    assert len(failed_deletes) == 2
    assert {line["error"] for line in failed_deletes} == {"InternalServerError"}


def _send(queue_url: str, event: Event) -> None:
    boto3.client("sqs").send_message(
        QueueUrl=queue_url, MessageBody=event.body(), MessageAttributes=event.message_attributes()
    )


def test_the_workers_aws_calls_are_measured_like_the_apis(
    client: TestClient, worker: Worker, counters: Counters
) -> None:
    """The call-duration histogram, with its outcome label, counts the worker's calls too."""
    name = "logger_app.aws.call.duration"
    calls = {
        ("SQS", "ReceiveMessage", "ok"): 2,
        ("DynamoDB", "TransactWriteItems", "ok"): 1,
        ("DynamoDB", "TransactWriteItems", "conflict"): 1,  # the duplicate's marker was there
        ("SQS", "DeleteMessage", "ok"): 2,
    }

    def measured() -> dict[tuple[str, str, str], float]:
        return {
            key: counters.value(name, service=key[0], operation=key[1], outcome=key[2])
            for key in calls
        }

    client.post("/v1/signups", json=new_patient())
    settle(client)
    sqs = boto3.client("sqs")
    [message] = sqs.receive_message(
        QueueUrl=worker.queue_url, MessageAttributeNames=["All"], VisibilityTimeout=0
    )["Messages"]
    sqs.send_message(
        QueueUrl=worker.queue_url,
        MessageBody=message["Body"],
        MessageAttributes=message["MessageAttributes"],
    )
    before = measured()

    assert worker.poll_once() + worker.poll_once() == 2

    assert {key: value - before[key] for key, value in measured().items()} == calls


def test_an_unexpected_error_in_an_effect_is_that_messages_alone(
    aws: str, counters: Counters, logs: Logs
) -> None:
    secret = "grace.hopper@example.com"

    def broken(data: Mapping[str, str]) -> list[Any]:
        raise RuntimeError(f"a bug that quotes the event: {secret}")

    settings = Settings(worker_wait_seconds=0, worker_retry_delay_seconds=0)
    effects = {**default_effects(settings.patients_table), "record.created": broken}
    worker = build_worker(settings, queue_url=aws, effects=effects)
    patient_id = str(uuid.uuid4())
    boto3.client("dynamodb").put_item(
        TableName=settings.patients_table, Item={"pk": {"S": "patient#" + patient_id}}
    )
    record = {"id": "r-1", "patient_id": patient_id, "doctor_id": "dr-who", "kind": "message"}
    _send(aws, Event("record.created", record, trace_context={}))
    _send(aws, Event("patient.signed_up", {"patient_id": patient_id}, trace_context={}))
    failed = {"event": "record.created", "outcome": "failed"}
    before = counters.value("logger_app.worker_events", **failed)

    assert worker.poll_once() == 2  # one batch

    assert "welcomed_at" in patient_item(patient_id)
    assert counters.value("logger_app.worker_events", **failed) == before + 1
    [failure] = [line for line in logs() if line["event"] == "worker.failed"]
    assert failure["level"] == "ERROR"
    assert failure["error"] == "RuntimeError"
    assert failure["error_at"].startswith("logger_app/worker/consumer.py:")
    assert secret not in json.dumps(logs())
    assert worker.poll_once() == 1  # back on the queue after the (zero) retry delay


def test_a_failed_message_is_not_hidden_again_while_its_batch_goes_on(aws: str) -> None:
    """The heartbeat keeps only the messages still in hand invisible: a failed one is back on
    the queue after its retry delay, however long the rest of its batch takes."""
    settings = Settings(
        worker_wait_seconds=0, worker_retry_delay_seconds=0, worker_visibility_timeout_seconds=2
    )
    sqs = boto3.client("sqs")
    seen_meanwhile: list[str] = []

    def slow(data: Mapping[str, str]) -> list[Any]:
        time.sleep(1.5)  # past the heartbeat (every visibility timeout / 2)
        seen_meanwhile.extend(
            message["Body"]
            for message in sqs.receive_message(QueueUrl=aws, VisibilityTimeout=30).get(
                "Messages", []
            )
        )
        return []

    worker = build_worker(settings, queue_url=aws, effects={"slow": slow})
    poison = json.dumps({"id": "e-9", "type": "patient.exploded", "occurred_at": "now", "data": {}})
    sqs.send_message(QueueUrl=aws, MessageBody=poison)
    _send(aws, Event("slow", {}, trace_context={}))

    assert worker.poll_once() == 2

    assert seen_meanwhile == [poison]
