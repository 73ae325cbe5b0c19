"""What the API does when AWS fails, over real HTTP: faults injected between boto3 and moto
(throttling, 500s, slowness, lost answers), AWS unreachable, SQS failing after a write, and
refusals for good (a missing table, another key schema)."""

import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from harness.processes import free_port
from tests.faults import FaultProxy
from tests.integration.conftest import AppFactory, Counters, Logs, existing_patient, settle

DYNAMODB = "DynamoDB_20120810."
WRITE = "DynamoDB_20120810.TransactWriteItems"
SEND = "AmazonSQS.SendMessage"


def signup() -> dict[str, str]:
    return {"email": f"p{uuid.uuid4().hex[:8]}@example.com", "full_name": "Test Patient"}


def stored_patients(faults: FaultProxy) -> int:
    faults.clear()
    items = boto3.client("dynamodb").scan(TableName="logger-app-patients")["Items"]
    return sum(item["pk"]["S"].startswith("patient#") for item in items)


def test_throttled_dynamodb_is_503_and_writes_nothing(
    faults: FaultProxy, make_client: AppFactory
) -> None:
    client = make_client()
    faults.inject(WRITE, "throttle")

    response = client.post("/v1/signups", json=signup())

    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert stored_patients(faults) == 0


@pytest.mark.parametrize("kind", ["throttle", "error500", "drop"])
def test_a_passing_fault_is_retried_and_succeeds(
    faults: FaultProxy, make_client: AppFactory, kind: str
) -> None:
    client = make_client()
    fault = faults.inject(WRITE, kind, times=1)  # type: ignore[arg-type]

    response = client.post("/v1/signups", json=signup())

    assert response.status_code == 201
    assert fault.hits == 1
    assert stored_patients(faults) == 1


def test_slow_dynamodb_times_out_within_bounds(faults: FaultProxy, make_client: AppFactory) -> None:
    client = make_client(aws_read_timeout_seconds=0.3, aws_max_attempts=2)
    faults.inject(DYNAMODB, "slow", delay=2)

    started = time.monotonic()
    response = client.get(f"/v1/records/{uuid.uuid4()}")

    assert response.status_code == 503
    assert time.monotonic() - started < 5


def test_a_write_slower_than_the_read_timeout_is_a_503_and_its_retry_adds_no_patient(
    faults: FaultProxy, make_client: AppFactory
) -> None:
    read_timeout, attempts = 0.5, 2
    client = make_client(aws_read_timeout_seconds=read_timeout, aws_max_attempts=attempts)
    # The proxy forwards each attempt late: DynamoDB applies writes the app gave up waiting for.
    faults.inject(WRITE, "slow", delay=1.5)
    patient, headers = signup(), {"Idempotency-Key": uuid.uuid4().hex}

    started = time.monotonic()
    first = client.post("/v1/signups", json=patient, headers=headers)
    elapsed = time.monotonic() - started

    assert first.status_code == 503
    assert first.headers["retry-after"] == "2"
    # Each attempt waits one read timeout; botocore's backoff before the second is under 1 s.
    assert attempts * read_timeout <= elapsed < attempts * read_timeout + 1.5
    time.sleep(2)  # the late writes have landed
    faults.clear()

    retry = client.post("/v1/signups", json=patient, headers=headers)

    assert retry.status_code == 201, retry.text
    assert stored_patients(faults) == 1


def test_sqs_throttled_keeps_the_event_until_it_can_be_sent(
    faults: FaultProxy, make_client: AppFactory, aws: str
) -> None:
    client = make_client()
    faults.inject(SEND, "throttle")

    response = client.post("/v1/signups", json=signup())
    settle(client)
    assert response.status_code == 201
    sqs = boto3.client("sqs")
    assert "Messages" not in sqs.receive_message(QueueUrl=aws)

    faults.clear()
    publisher = client.app.state.services.publisher  # type: ignore[attr-defined]
    assert client.portal.call(publisher.drain) == 1  # type: ignore[union-attr]

    [message] = sqs.receive_message(QueueUrl=aws)["Messages"]
    assert response.json()["patient_id"] in message["Body"]
    assert client.portal.call(publisher.drain) == 0  # nothing left to send


def test_an_sqs_outage_is_one_failure_per_event_and_a_backlog_that_drains(
    faults: FaultProxy, make_client: AppFactory, counters: Counters
) -> None:
    client = make_client()
    publisher = client.app.state.services.publisher  # type: ignore[attr-defined]
    faults.inject(SEND, "throttle")
    before = counters.value(
        "logger_app.queue_publishes", event="patient.signed_up", outcome="failed"
    )

    assert client.post("/v1/signups", json=signup()).status_code == 201
    settle(client)
    for _ in range(3):  # three drains retry it while SQS is down
        assert client.portal.call(publisher.drain) == 0  # type: ignore[union-attr]

    assert publisher.backlog.pending == 1
    assert publisher.backlog.oldest_age_seconds > 0
    # The gauges, registered by the lifespan, read this publisher's backlog.
    assert counters.value("logger_app.outbox.pending") == 1
    assert counters.value("logger_app.outbox.oldest_age") > 0
    failed = counters.value(
        "logger_app.queue_publishes", event="patient.signed_up", outcome="failed"
    )
    assert failed == before + 1

    faults.clear()
    assert client.portal.call(publisher.drain) == 1  # type: ignore[union-attr]
    backlog = publisher.backlog
    assert (backlog.pending, backlog.oldest_age_seconds) == (0, 0.0)
    assert counters.value("logger_app.outbox.pending") == 0


# Each write's first attempt commits, then its answer is lost: the connection drops, or the
# answer comes after the read timeout (5 s), as from a stalled DynamoDB. botocore retries; the
# emulator, which ignores ClientRequestToken, cancels the retry on the first attempt's items, and
# the app recognises its own commit: answered 201, stored once, audited success once.
ANSWER_LOST = pytest.mark.parametrize("kind", ["lose_answer", "late_answer"])
RETRIED_CONFLICT = {"service": "DynamoDB", "operation": "TransactWriteItems", "outcome": "conflict"}


def audited(logs: Logs) -> list[tuple[str, str]]:
    return [(line["action"], line["outcome"]) for line in logs() if line["event"] == "audit"]


@ANSWER_LOST
def test_a_sign_up_whose_answer_was_lost_is_answered_as_committed(
    faults: FaultProxy,
    make_client: AppFactory,
    counters: Counters,
    logs: Logs,
    queue: Callable[[], list[dict[str, Any]]],
    kind: str,
) -> None:
    client = make_client()
    before = counters.value("logger_app.signups", outcome="created")
    retried = counters.value("logger_app.aws.call.duration", **RETRIED_CONFLICT)
    fault = faults.inject(WRITE, kind, times=1, delay=6)  # type: ignore[arg-type]

    response = client.post("/v1/signups", json=signup())  # no key: only the email guard
    settle(client)

    assert response.status_code == 201, response.text
    assert "idempotent-replayed" not in response.headers
    assert fault.hits == 1
    assert counters.value("logger_app.aws.call.duration", **RETRIED_CONFLICT) == retried + 1
    assert stored_patients(faults) == 1
    assert audited(logs) == [("patient.sign_up", "success")]
    assert counters.value("logger_app.signups", outcome="created") == before + 1
    [event] = queue()
    assert event["body"]["data"]["patient_id"] == response.json()["patient_id"]


@ANSWER_LOST
def test_a_record_whose_answer_was_lost_is_answered_as_committed(
    faults: FaultProxy,
    make_client: AppFactory,
    counters: Counters,
    logs: Logs,
    queue: Callable[[], list[dict[str, Any]]],
    kind: str,
) -> None:
    client = make_client()
    record = {"patient_id": existing_patient(), "doctor_id": "dr-retry", "kind": "note"}
    before = counters.value("logger_app.records", kind="note", outcome="created")
    fault = faults.inject(WRITE, kind, times=1, delay=6)  # type: ignore[arg-type]

    response = client.post("/v1/records", json=record)
    settle(client)

    assert response.status_code == 201, response.text
    assert "idempotent-replayed" not in response.headers
    assert fault.hits == 1
    faults.clear()
    [stored] = boto3.client("dynamodb").scan(TableName="logger-app-records")["Items"]
    assert (stored["id"]["S"], stored["timestamp"]["S"]) == (
        response.json()["id"],
        response.json()["timestamp"],
    )
    assert stored["audit"]["M"]["client_id"]["S"] == "logger-app-local"
    assert audited(logs) == [("record.create", "success")]
    assert counters.value("logger_app.records", kind="note", outcome="created") == before + 1
    [event] = queue()
    assert event["body"]["data"]["id"] == response.json()["id"]


def test_a_lost_answer_with_an_idempotency_key_is_no_replay(
    faults: FaultProxy, make_client: AppFactory
) -> None:
    client = make_client()
    faults.inject(WRITE, "lose_answer", times=1)
    headers = {"Idempotency-Key": uuid.uuid4().hex}

    response = client.post("/v1/signups", json=signup(), headers=headers)

    assert response.status_code == 201, response.text
    assert "idempotent-replayed" not in response.headers  # the first answer, not a replay
    assert stored_patients(faults) == 1


PATIENT = {"email": "florence@example.com", "full_name": "Florence Nightingale"}


def test_aws_unreachable_is_503_with_retry_after(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch, counters: Counters
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    client = make_client(aws_max_attempts=2)
    before = counters.value("logger_app.signups", outcome="failed")

    for method, path, body in (
        ("POST", "/v1/signups", PATIENT),
        (
            "POST",
            "/v1/records",
            {"patient_id": str(uuid.uuid4()), "doctor_id": "d", "kind": "note"},
        ),
        ("GET", f"/v1/records/{uuid.uuid4()}", None),
    ):
        response = client.request(method, path, json=body)
        assert response.status_code == 503, path
        assert response.headers["retry-after"] == "2"
        problem = response.json()
        assert problem["type"] == "urn:logger-app:problem:dependency-unavailable"
        assert "Traceback" not in response.text

    assert counters.value("logger_app.signups", outcome="failed") == before + 1
    assert (
        counters.value("logger_app.aws.call.duration", service="DynamoDB", outcome="unavailable")
        >= 3
    )


def test_sqs_down_after_write_keeps_the_write_and_says_so(
    make_client: AppFactory,
    monkeypatch: pytest.MonkeyPatch,
    aws: str,
    counters: Counters,
    logs: Logs,
) -> None:
    # DynamoDB answers; SQS (botocore's per-service endpoint variable) does not.
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", f"http://127.0.0.1:{free_port()}")
    client = make_client(queue_url=aws, aws_max_attempts=2)
    before = counters.value(
        "logger_app.queue_publishes", event="patient.signed_up", outcome="failed"
    )

    response = client.post("/v1/signups", json=PATIENT)
    settle(client)

    assert response.status_code == 201
    patient_id = response.json()["patient_id"]
    stored = boto3.client("dynamodb").get_item(
        TableName="logger-app-patients", Key={"pk": {"S": "patient#" + patient_id}}
    )
    assert "Item" in stored
    assert (
        counters.value("logger_app.queue_publishes", event="patient.signed_up", outcome="failed")
        == before + 1
    )
    lines = logs()
    failure = next(line for line in lines if line["event"] == "event.publish_failed")
    assert failure["level"] == "WARNING"
    assert failure["event_type"] == "patient.signed_up"
    assert "florence" not in str(lines).lower()
    # Kept for the next drain: the outbox entry written with the patient is still pending.
    [pending] = boto3.client("dynamodb").scan(TableName="logger-app-outbox")["Items"]
    assert patient_id in pending["event"]["S"]


def test_unexpected_error_is_500_without_internals(make_client: AppFactory) -> None:
    # A table with another key schema: DynamoDB rejects the write, which the app does not expect.
    client = make_client(patients_table="logger-app-records")

    response = client.post("/v1/signups", json=PATIENT)

    assert response.status_code == 500
    problem = response.json()
    assert problem["type"] == "urn:logger-app:problem:internal-error"
    assert len(problem["trace_id"]) == 32
    assert "ValidationException" not in response.text
    assert "logger-app-records" not in response.text


RECORD = {"patient_id": str(uuid.uuid4()), "doctor_id": "dr-house", "kind": "note"}


def _permanent_failure(logs: Logs) -> dict[str, str]:
    [line] = [line for line in logs() if line["event"] == "request.failed"]
    assert line["level"] == "ERROR"
    assert line["dependency"] == "DynamoDB"
    return line


def test_a_sign_up_refused_for_good_is_a_500_counted_as_failed(
    make_client: AppFactory, counters: Counters, logs: Logs
) -> None:
    client = make_client(patients_table="logger-app-records")  # another key schema
    before = counters.value("logger_app.signups", outcome="failed")

    response = client.post("/v1/signups", json=PATIENT)

    assert response.status_code == 500
    assert "retry-after" not in response.headers
    assert counters.value("logger_app.signups", outcome="failed") == before + 1
    line = _permanent_failure(logs)
    # AWS's own code and message, for whoever is paged.
    assert line["error"] == "TransactionCanceledException"
    assert line["error_message"]


def test_a_record_refused_for_good_is_a_500_not_a_retry(
    make_client: AppFactory, counters: Counters, logs: Logs
) -> None:
    client = make_client(records_table="logger-app-patients")  # another key schema
    before = counters.value("logger_app.records", kind="note", outcome="failed")

    response = client.post("/v1/records", json=RECORD)

    assert response.status_code == 500
    assert "retry-after" not in response.headers
    assert counters.value("logger_app.records", kind="note", outcome="failed") == before + 1
    assert _permanent_failure(logs)["error"] == "TransactionCanceledException"


def test_a_missing_table_on_read_is_a_500_with_the_aws_code(
    make_client: AppFactory, logs: Logs
) -> None:
    client = make_client(records_table="no-such-table")

    response = client.get(f"/v1/records/{uuid.uuid4()}")

    assert response.status_code == 500
    assert _permanent_failure(logs)["error"] == "ResourceNotFoundException"


def test_a_queue_that_refuses_for_good_is_an_error_with_its_cause(
    make_client: AppFactory, aws: str, logs: Logs
) -> None:
    client = make_client(queue_name="no-such-queue")

    response = client.post("/v1/signups", json=PATIENT)
    settle(client)

    assert response.status_code == 201  # saved; the event waits in the outbox
    [line] = [line for line in logs() if line["event"] == "event.publish_failed"]
    assert line["level"] == "ERROR"
    assert line["dependency"] == "SQS"
    assert "NonExistentQueue" in line["error"]
    assert line["error_message"]
    [pending] = boto3.client("dynamodb").scan(TableName="logger-app-outbox")["Items"]
    assert response.json()["patient_id"] in pending["event"]["S"]
