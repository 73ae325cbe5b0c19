"""Dependency failures, over real HTTP: unreachable AWS, SQS failing after a write, bugs."""

import uuid

import boto3
import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import AppFactory, Counters, Logs, settle
from tests.support import free_port

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


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong_method = client.delete("/v1/signups")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["type"] == "urn:logger-app:problem:method-not-allowed"


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
