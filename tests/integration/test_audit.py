"""The PHI access log in-process: one audit line for every outcome of every PHI endpoint, with a
reason code for each refusal and failure; and the audit record each write stores."""

import uuid
from typing import Any

import boto3
from fastapi.testclient import TestClient

from harness.issuer import token
from tests.faults import FaultProxy
from tests.integration.conftest import AppFactory, Logs, existing_patient

PATIENT = {"email": "audit.trail@example.com", "full_name": "Audit Trail"}
CLIENT = "logger-app-local"  # the local issuer's client


def audit_lines(logs: Logs) -> list[dict[str, Any]]:
    return [line for line in logs() if line["event"] == "audit"]


def test_every_outcome_of_a_phi_endpoint_is_audited_once_with_its_reason(
    make_client: AppFactory, logs: Logs
) -> None:
    client = make_client(max_body_bytes=1024)
    patient_id = existing_patient()
    record = {"patient_id": patient_id, "doctor_id": "dr-audit", "kind": "note"}
    created = client.post("/v1/records", json=record)
    assert created.status_code == 201
    record_id = created.json()["id"]
    unknown = str(uuid.uuid4())

    def chunks() -> Any:  # no Content-Length: counted as it streams
        yield b'{"details": "' + b"x" * 2000 + b'"}'

    json_body = {"content-type": "application/json"}
    requests: list[tuple[str, str, dict[str, Any], int]] = [
        ("POST", "/v1/signups", {"json": PATIENT}, 201),
        ("POST", "/v1/signups", {"json": PATIENT}, 409),
        ("POST", "/v1/records", {"content": b"x" * 2000, "headers": json_body}, 413),
        ("POST", "/v1/records", {"content": chunks(), "headers": json_body}, 413),
        ("POST", "/v1/signups", {"content": b'{"email": "\xff"}', "headers": json_body}, 422),
        ("POST", "/v1/records", {"json": {**record, "kind": "visit"}}, 422),
        ("GET", "/v1/records/not-a-uuid", {}, 422),
        ("GET", f"/v1/records/{record_id}", {"headers": {"Authorization": ""}}, 401),
        (
            "GET",
            f"/v1/records/{record_id}",
            {"headers": {"Authorization": f"Bearer {token(lifetime_seconds=-120)}"}},
            401,
        ),
        (
            "GET",
            f"/v1/records/{record_id}",
            {"headers": {"Authorization": f"Bearer {token('records:write')}"}},
            403,
        ),
        ("GET", f"/v1/records/{unknown}", {}, 404),
        ("GET", f"/v1/records/{record_id}", {}, 200),
    ]
    before = len(audit_lines(logs))
    for method, path, options, status in requests:
        response = client.request(method, path, **options)
        assert response.status_code == status, (path, response.text)

    lines = audit_lines(logs)[before:]
    assert [
        {k: v for k, v in line.items() if k in {"action", "outcome", "reason", "client_id"}}
        for line in lines
    ] == [
        {"action": "patient.sign_up", "outcome": "success", "client_id": CLIENT},
        {
            "action": "patient.sign_up",
            "outcome": "conflict",
            "reason": "email-already-registered",
            "client_id": CLIENT,
        },
        # Refused before the token was looked at: the body was over the limit.
        {"action": "record.create", "outcome": "invalid", "reason": "body-too-large"},
        {"action": "record.create", "outcome": "invalid", "reason": "body-too-large"},
        {"action": "patient.sign_up", "outcome": "invalid", "reason": "malformed-json"},
        {
            "action": "record.create",
            "outcome": "invalid",
            "reason": "validation-error",
            "client_id": CLIENT,
        },
        {
            "action": "record.read",
            "outcome": "invalid",
            "reason": "validation-error",
            "client_id": CLIENT,
        },
        {"action": "record.read", "outcome": "unauthenticated", "reason": "token-missing"},
        {"action": "record.read", "outcome": "unauthenticated", "reason": "token-expired"},
        {
            "action": "record.read",
            "outcome": "denied",
            "reason": "insufficient-scope",
            "client_id": CLIENT,
        },
        {
            "action": "record.read",
            "outcome": "not_found",
            "reason": "record-not-found",
            "client_id": CLIENT,
        },
        {"action": "record.read", "outcome": "success", "client_id": CLIENT},
    ]
    # Each line is its request's own (one trace each), and names what the request named.
    assert len({line["trace_id"] for line in lines}) == len(requests)
    assert lines[-1]["record_id"] == record_id
    assert lines[-1]["patient_id"] == patient_id
    assert "record_id" not in lines[6]  # not a well-formed id: not echoed
    assert lines[8]["record_id"] == record_id
    text = str(lines)
    assert "audit.trail" not in text
    assert "Audit Trail" not in text


def test_a_dependency_failure_is_audited_as_failed(
    faults: FaultProxy, make_client: AppFactory, logs: Logs
) -> None:
    client = make_client()
    faults.inject("DynamoDB_20120810.", "throttle")

    assert client.post("/v1/signups", json=PATIENT).status_code == 503
    assert client.get(f"/v1/records/{uuid.uuid4()}").status_code == 503

    assert [(line["outcome"], line["reason"]) for line in audit_lines(logs)] == [
        ("failed", "dependency-unavailable"),
        ("failed", "dependency-unavailable"),
    ]


def test_a_write_stores_its_audit_record_in_its_transaction(client: TestClient, logs: Logs) -> None:
    signed_up = client.post("/v1/signups", json=PATIENT)
    patient_id = signed_up.json()["patient_id"]
    record = {"patient_id": patient_id, "doctor_id": "dr-audit", "kind": "message"}
    created = client.post("/v1/records", json=record)
    assert (signed_up.status_code, created.status_code) == (201, 201)

    dynamodb = boto3.client("dynamodb")
    patient = dynamodb.get_item(
        TableName="logger-app-patients", Key={"pk": {"S": f"patient#{patient_id}"}}
    )["Item"]
    stored = dynamodb.get_item(
        TableName="logger-app-records",
        Key={"id": {"S": created.json()["id"]}, "timestamp": {"S": created.json()["timestamp"]}},
    )["Item"]
    lines = audit_lines(logs)
    for item, line, action in [
        (patient, lines[0], "patient.sign_up"),
        (stored, lines[1], "record.create"),
    ]:
        audit = {name: value["S"] for name, value in item["audit"]["M"].items()}
        assert audit["action"] == line["action"] == action
        assert audit["client_id"] == line["client_id"] == CLIENT
        assert audit["trace_id"] == line["trace_id"]
        uuid.UUID(audit["request_id"])
    # Nothing of it is part of the record a reader gets back.
    assert client.get(f"/v1/records/{created.json()['id']}").json() == created.json()
