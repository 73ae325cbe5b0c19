import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.integration.conftest import Counters, Logs, existing_patient, settle


@pytest.fixture
def patient(aws: str) -> str:
    return existing_patient()


def record(patient: str, **fields: Any) -> dict[str, Any]:
    return {"patient_id": patient, "doctor_id": "dr-house", "kind": "call_started", **fields}


def test_create_then_read_back_by_id_and_timestamp(
    client: TestClient, patient: str, queue: Callable[[], list[dict[str, Any]]]
) -> None:
    created = client.post(
        "/v1/records", json=record(patient, details="Patient called about results")
    )
    settle(client)

    assert created.status_code == 201
    body = created.json()
    assert client.get(f"/v1/records/{body['id']}").json() == body
    assert client.get(f"/v1/records/{body['id']}/{body['timestamp']}").json() == body
    [message] = queue()
    assert message["body"]["type"] == "record.created"
    assert message["body"]["data"]["id"] == body["id"]
    assert "details" not in message["body"]["data"]  # free text stays out of events


def test_newest_item_of_an_interaction_wins(client: TestClient, patient: str) -> None:
    started = client.post("/v1/records", json=record(patient)).json()
    ended = client.post(
        "/v1/records", json=record(patient, id=started["id"], kind="call_ended")
    ).json()

    assert ended["id"] == started["id"]
    assert ended["timestamp"] > started["timestamp"]
    assert client.get(f"/v1/records/{started['id']}").json()["kind"] == "call_ended"
    old = client.get(f"/v1/records/{started['id']}/{started['timestamp']}")
    assert old.json()["kind"] == "call_started"


def test_unknown_record_is_404_problem_with_trace_id(
    client: TestClient, counters: Counters
) -> None:
    before = counters.value("logger_app.record_lookups", outcome="not_found")
    unknown = uuid.uuid4()

    for path in (f"/v1/records/{unknown}", f"/v1/records/{unknown}/2026-01-01T00:00:00.000000Z"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == "urn:logger-app:problem:record-not-found"
        assert problem["status"] == 404
        assert len(problem["trace_id"]) == 32

    assert counters.value("logger_app.record_lookups", outcome="not_found") == before + 2


def test_malformed_ids_and_timestamps_are_422(client: TestClient) -> None:
    assert client.get("/v1/records/not-a-uuid").status_code == 422
    assert client.get(f"/v1/records/{uuid.uuid4()}/yesterday").status_code == 422


def test_invalid_records_are_422_naming_the_field(client: TestClient, patient: str) -> None:
    cases = [
        (record(patient, kind="video_call"), "body.kind"),
        (record(patient, patient_id="patient-1"), "body.patient_id"),
        (record(patient, doctor_id="dr house; drop table"), "body.doctor_id"),
        (record(patient, details="x" * 4097), "body.details"),
        (record(patient, details="é" * 2049), "body.details"),  # 4098 bytes of UTF-8
        ({"patient_id": patient}, "body.doctor_id"),
    ]
    for payload, field in cases:
        response = client.post("/v1/records", json=payload)
        assert response.status_code == 422, payload
        assert field in [error["field"] for error in response.json()["errors"]]


def test_details_at_the_limit_are_accepted(client: TestClient, patient: str) -> None:
    assert client.post("/v1/records", json=record(patient, details="é" * 2048)).status_code == 201


def test_records_counter_by_kind_and_outcome(
    client: TestClient, patient: str, counters: Counters
) -> None:
    before = counters.value("logger_app.records", kind="message", outcome="created")
    client.post("/v1/records", json=record(patient, kind="message"))
    assert counters.value("logger_app.records", kind="message", outcome="created") == before + 1


def test_oversized_body_is_413_before_parsing(make_client: Any, patient: str) -> None:
    client = make_client(max_body_bytes=1024)
    big = record(patient, details="x" * 2000)

    declared = client.post("/v1/records", json=big)
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"

    def chunks() -> Any:  # no Content-Length: counted as it streams
        yield b'{"details": "'
        yield b"x" * 2000
        yield b'"}'

    streamed = client.post(
        "/v1/records", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert streamed.json()["type"] == "urn:logger-app:problem:body-too-large"


def records_stored() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = boto3.client("dynamodb").scan(TableName="logger-app-records")[
        "Items"
    ]
    return items


def pending_events() -> list[dict[str, Any]]:
    outbox = boto3.client("dynamodb").scan(TableName="logger-app-outbox")["Items"]
    return [item for item in outbox if item["pk"]["S"].startswith("pending#")]


def dynamodb_calls(spans: InMemorySpanExporter) -> list[str]:
    """The DynamoDB calls the requests made since `spans` was cleared: children of their server
    spans (the test's own calls have no parent; the background's, the outbox's, are untraced)."""
    return [
        span.name
        for span in spans.get_finished_spans()
        if span.name.startswith("DynamoDB.") and span.parent is not None
    ]


ONE_WRITE = ["DynamoDB.TransactWriteItems"]


def test_a_record_for_a_patient_who_never_signed_up_is_refused(
    client: TestClient, counters: Counters, logs: Logs, spans: InMemorySpanExporter
) -> None:
    before = counters.value("logger_app.records", kind="call_started", outcome="rejected")
    stranger = str(uuid.uuid4())

    response = client.post("/v1/records", json=record(stranger))

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:logger-app:problem:patient-not-found"
    assert stranger in problem["detail"]
    assert len(problem["trace_id"]) == 32
    assert records_stored() == []
    assert pending_events() == []
    # Refused by a condition of the write's own transaction: one DynamoDB call, no read first.
    assert dynamodb_calls(spans) == ONE_WRITE
    assert counters.value("logger_app.records", kind="call_started", outcome="rejected") == (
        before + 1
    )
    [line] = [line for line in logs() if line["event"] == "audit"]
    assert (line["outcome"], line["reason"], line["patient_id"]) == (
        "invalid",
        "patient-not-found",
        stranger,
    )


def test_an_interaction_keeps_the_patient_of_its_first_record(
    client: TestClient, patient: str, spans: InMemorySpanExporter
) -> None:
    started = client.post("/v1/records", json=record(patient))
    assert started.status_code == 201
    interaction = started.json()["id"]
    other = existing_patient()
    spans.clear()

    response = client.post("/v1/records", json=record(other, id=interaction, kind="call_ended"))

    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "urn:logger-app:problem:interaction-of-another-patient"
    assert interaction in problem["detail"]
    assert other not in problem["detail"]
    assert patient not in problem["detail"]
    assert dynamodb_calls(spans) == ONE_WRITE
    assert len(records_stored()) == 1
    assert client.get(f"/v1/records/{interaction}").json()["patient_id"] == patient
    # Its own patient may still add to it.
    ended = client.post("/v1/records", json=record(patient, id=interaction, kind="call_ended"))
    assert ended.status_code == 201
    assert client.get(f"/v1/records/{interaction}").json()["kind"] == "call_ended"


def test_a_client_may_choose_the_id_of_a_new_interaction(client: TestClient, patient: str) -> None:
    chosen = str(uuid.uuid4())

    response = client.post("/v1/records", json=record(patient, id=chosen))

    assert response.status_code == 201
    assert response.json()["id"] == chosen
    other = client.post("/v1/records", json=record(existing_patient(), id=chosen))
    assert other.status_code == 409  # and from then on it is that patient's


def test_idempotent_replay_returns_the_first_record_and_writes_nothing(
    client: TestClient,
    patient: str,
    counters: Counters,
    spans: InMemorySpanExporter,
    queue: Callable[[], list[dict[str, Any]]],
) -> None:
    headers = {"Idempotency-Key": "rec-123"}
    body = record(patient, kind="message", details="Asked about the dosage")

    first = client.post("/v1/records", json=body, headers=headers)
    settle(client)
    spans.clear()
    replay = client.post("/v1/records", json=body, headers=headers)
    settle(client)

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert dynamodb_calls(spans) == ONE_WRITE  # the first answer came with the cancellation
    assert len(records_stored()) == 1
    assert len(queue()) == 1
    assert counters.value("logger_app.records", kind="message", outcome="replayed") >= 1


def test_an_idempotency_key_reused_for_another_record_or_a_sign_up_is_409(
    client: TestClient, patient: str
) -> None:
    headers = {"Idempotency-Key": "rec-456"}
    assert client.post("/v1/records", json=record(patient), headers=headers).status_code == 201

    other = client.post("/v1/records", json=record(patient, kind="note"), headers=headers)
    signup = client.post(
        "/v1/signups", json={"email": "rec456@example.com", "full_name": "R"}, headers=headers
    )

    for response in (other, signup):
        assert response.status_code == 409
        assert response.json()["type"] == "urn:logger-app:problem:idempotency-key-reused"
    assert len(records_stored()) == 1


def test_a_record_at_an_id_and_timestamp_already_stored_is_a_409_clash_not_an_outage(
    make_client: Any,
    patient: str,
    counters: Counters,
    logs: Logs,
    queue: Callable[[], list[dict[str, Any]]],
) -> None:
    """Two records of one interaction in one tick of the server's clock: the second clashes.
    The app's clock is fixed, so every record it writes has this timestamp."""
    timestamp = "2026-03-04T05:06:07.080910Z"
    client = make_client(clock=lambda: timestamp)
    started = client.post("/v1/records", json=record(patient, details="Called about results"))
    assert started.status_code == 201
    interaction = started.json()["id"]
    settle(client)
    queue()  # the first record's event
    stored = records_stored()
    before = {
        outcome: counters.value("logger_app.records", kind="call_ended", outcome=outcome)
        for outcome in ("clash", "rejected", "failed", "created")
    }

    clashes = [
        client.post("/v1/records", json=record(patient, id=interaction, kind="call_ended"))
        for _ in range(2)
    ]
    settle(client)

    for response in clashes:
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        assert "retry-after" not in response.headers
        problem = response.json()
        assert problem["type"] == "urn:logger-app:problem:record-id-taken"
        assert problem["status"] == 409
        assert interaction in problem["detail"]
        assert patient not in problem["detail"]
    assert records_stored() == stored  # the first record, its audit included, untouched
    assert client.get(f"/v1/records/{interaction}/{timestamp}").json() == started.json()
    assert queue() == []
    assert pending_events() == []
    lines = logs()
    assert [line for line in lines if line["event"] == "dependency.unavailable"] == []
    assert [line["event"] for line in lines].count("record.id_taken") == 2
    audited = [line for line in lines if line.get("action") == "record.create"]
    assert [(line["outcome"], line.get("reason")) for line in audited] == [
        ("success", None),
        *[("conflict", "record-id-taken")] * 2,
    ]
    after = {
        outcome: counters.value("logger_app.records", kind="call_ended", outcome=outcome)
        for outcome in before
    }
    assert after == {**before, "clash": before["clash"] + 2}
