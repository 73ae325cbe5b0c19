"""Every 4xx says, in words a caller can act on, what was wrong: the real bad requests, sent as
raw bytes, refused with a stable problem type, a detail naming the fix, and nothing stored."""

import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import existing_patient, settle

PROBLEM = "urn:logger-app:problem:"
JSON = {"content-type": "application/json"}
TABLES = ("logger-app-patients", "logger-app-records", "logger-app-outbox")


@pytest.fixture
def patient(aws: str) -> str:
    return existing_patient()


def stored_items() -> int:
    dynamodb = boto3.client("dynamodb")
    return sum(dynamodb.scan(TableName=table, Select="COUNT")["Count"] for table in TABLES)


def refused(
    client: TestClient,
    queue: Callable[[], list[dict[str, Any]]],
    path: str,
    content: bytes,
    headers: dict[str, str],
    status: int,
    slug: str,
) -> dict[str, Any]:
    """POST the raw bytes; check the status, the problem type and that nothing was written."""
    before = stored_items()
    response = client.post(path, content=content, headers=headers)
    settle(client)
    assert (response.status_code, response.headers["content-type"]) == (
        status,
        "application/problem+json",
    ), response.text
    problem: dict[str, Any] = response.json()
    assert problem["type"] == PROBLEM + slug, problem
    assert problem["status"] == status
    assert stored_items() == before
    assert queue() == []
    return problem


def test_malformed_json_says_where(
    client: TestClient, patient: str, queue: Callable[[], list[dict[str, Any]]]
) -> None:
    # A missing comma, on one line and on three.
    one_line = b'{"email": "florence@example.com", "full_name": "Florence" "x": 1}'
    problem = refused(client, queue, "/v1/signups", one_line, JSON, 422, "malformed-json")
    assert problem["detail"] == (
        "The body is not valid JSON: expecting ',' delimiter at line 1, column 59 (character 58)."
    )
    assert (problem["line"], problem["column"], problem["position"]) == (1, 59, 58)

    lines = f'{{\n  "patient_id": "{patient}"\n  "kind": "note"\n}}'.encode()
    problem = refused(client, queue, "/v1/records", lines, JSON, 422, "malformed-json")
    assert "expecting ',' delimiter at line 3, column 3 (character 59)" in problem["detail"]


def test_a_body_not_utf8_or_nested_too_deeply_is_malformed_json(
    client: TestClient, queue: Callable[[], list[dict[str, Any]]]
) -> None:
    body = b'{"email": "\xff", "full_name": "Florence"}'
    problem = refused(client, queue, "/v1/signups", body, JSON, 422, "malformed-json")
    assert problem["detail"] == (
        "The body is not valid JSON: it must be UTF-8 text, and the byte at position 11 is not "
        "valid utf-8."
    )
    assert problem["position"] == 11

    deep = b"[" * 5000 + b"]" * 5000
    problem = refused(client, queue, "/v1/signups", deep, JSON, 422, "malformed-json")
    assert problem["detail"] == (
        "The body is not valid JSON: its arrays or objects are nested too deeply to be read."
    )


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({}, "had none"),  # httpx sends raw content without a content type
        (  # curl -d's default
            {"content-type": "application/x-www-form-urlencoded"},
            "was application/x-www-form-urlencoded.",
        ),
        ({"content-type": "text/plain; charset=utf-8"}, "was text/plain; charset=utf-8."),
    ],
)
def test_json_sent_as_another_content_type_is_415_naming_application_json(
    client: TestClient,
    patient: str,
    queue: Callable[[], list[dict[str, Any]]],
    headers: dict[str, str],
    named: str,
) -> None:
    bodies = {
        "/v1/signups": b'{"email": "florence@example.com", "full_name": "Florence"}',
        "/v1/records": f'{{"patient_id": "{patient}", "doctor_id": "d", "kind": "note"}}'.encode(),
    }
    for path, body in bodies.items():
        problem = refused(client, queue, path, body, headers, 415, "unsupported-media-type")
        assert "sent with Content-Type: application/json;" in problem["detail"], problem
        assert named in problem["detail"]
    # The same bytes as JSON are accepted: the content type was the only fault.
    for path, body in bodies.items():
        assert client.post(path, content=body, headers=JSON).status_code == 201


def test_a_timestamp_in_another_format_is_described_in_words(client: TestClient) -> None:
    record = uuid.uuid4()
    for timestamp in ("2026-12-02T10:00:00.000Z", "2026-12-02T10:00:00.000000+00:00"):
        response = client.get(f"/v1/records/{record}/{timestamp}")

        assert response.status_code == 422
        problem = response.json()
        assert problem["type"] == PROBLEM + "validation-error"
        words = (
            "must be a UTC timestamp with 6 decimal places and a trailing Z, "
            "e.g. 2026-12-02T10:00:00.000000Z"
        )
        assert problem["errors"] == [{"field": "path.timestamp", "message": words}]
        assert problem["detail"] == f"Some fields are missing or invalid: path.timestamp: {words}."
        assert "\\d" not in response.text


def test_every_field_error_is_said_in_the_detail(
    client: TestClient, patient: str, queue: Callable[[], list[dict[str, Any]]]
) -> None:
    body = f'{{"patient_id": "{patient}", "doctor_id": "dr house", "kind": "note"}}'.encode()
    problem = refused(client, queue, "/v1/records", body, JSON, 422, "validation-error")
    assert problem["detail"] == (
        "Some fields are missing or invalid: body.doctor_id: must be 1 to 64 characters, each a "
        "letter, a digit or one of . _ : -."
    )

    problem = refused(client, queue, "/v1/signups", b"", JSON, 422, "validation-error")
    assert problem["detail"] == (
        "Some fields are missing or invalid: body: the request has no body: send a JSON object."
    )


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong_method = client.delete("/v1/signups")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["type"] == "urn:logger-app:problem:method-not-allowed"
