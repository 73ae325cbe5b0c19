import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.integration.conftest import Counters, settle

PATIENT_ID = str(uuid.uuid4())


def record(**fields: Any) -> dict[str, Any]:
    return {"patient_id": PATIENT_ID, "doctor_id": "dr-house", "kind": "call_started", **fields}


def test_create_then_read_back_by_id_and_timestamp(
    client: TestClient, queue: Callable[[], list[dict[str, Any]]]
) -> None:
    created = client.post("/v1/records", json=record(details="Patient called about results"))
    settle(client)

    assert created.status_code == 201
    body = created.json()
    assert client.get(f"/v1/records/{body['id']}").json() == body
    assert client.get(f"/v1/records/{body['id']}/{body['timestamp']}").json() == body
    [message] = queue()
    assert message["body"]["type"] == "record.created"
    assert message["body"]["data"]["id"] == body["id"]
    assert "details" not in message["body"]["data"]  # free text stays out of events


def test_newest_item_of_an_interaction_wins(client: TestClient) -> None:
    started = client.post("/v1/records", json=record()).json()
    ended = client.post("/v1/records", json=record(id=started["id"], kind="call_ended")).json()

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


def test_invalid_records_are_422_naming_the_field(client: TestClient) -> None:
    cases = [
        (record(kind="video_call"), "body.kind"),
        (record(patient_id="patient-1"), "body.patient_id"),
        (record(doctor_id="dr house; drop table"), "body.doctor_id"),
        (record(details="x" * 4097), "body.details"),
        (record(details="é" * 2049), "body.details"),  # 4098 bytes of UTF-8
        ({"patient_id": PATIENT_ID}, "body.doctor_id"),
    ]
    for payload, field in cases:
        response = client.post("/v1/records", json=payload)
        assert response.status_code == 422, payload
        assert field in [error["field"] for error in response.json()["errors"]]


def test_details_at_the_limit_are_accepted(client: TestClient) -> None:
    assert client.post("/v1/records", json=record(details="é" * 2048)).status_code == 201


def test_records_counter_by_kind_and_outcome(client: TestClient, counters: Counters) -> None:
    before = counters.value("logger_app.records", kind="message", outcome="created")
    client.post("/v1/records", json=record(kind="message"))
    assert counters.value("logger_app.records", kind="message", outcome="created") == before + 1


def test_oversized_body_is_413_before_parsing(make_client: Any) -> None:
    client = make_client(max_body_bytes=1024)
    big = record(details="x" * 2000)

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
