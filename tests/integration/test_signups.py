import uuid
from collections.abc import Callable
from typing import Any

import boto3
from fastapi.testclient import TestClient

from tests.integration.conftest import Counters, settle

PATIENT = {"email": "ada.lovelace@example.com", "full_name": "Ada Lovelace"}


def test_signup_creates_patient_and_publishes_event(
    client: TestClient, queue: Callable[[], list[dict[str, Any]]]
) -> None:
    response = client.post("/v1/signups", json=PATIENT)
    settle(client)

    assert response.status_code == 201
    body = response.json()
    uuid.UUID(body["patient_id"])
    assert body["created_at"].endswith("Z")
    item = boto3.client("dynamodb").get_item(
        TableName="logger-app-patients", Key={"pk": {"S": "patient#" + body["patient_id"]}}
    )["Item"]
    assert item["full_name"]["S"] == "Ada Lovelace"
    [message] = queue()
    assert message["body"]["type"] == "patient.signed_up"
    assert message["body"]["data"] == {
        "patient_id": body["patient_id"],
        "created_at": body["created_at"],
    }
    assert PATIENT["email"] not in str(message)


def test_same_email_twice_is_409_whatever_its_case(client: TestClient, counters: Counters) -> None:
    before = counters.value("logger_app.signups", outcome="duplicate")
    assert client.post("/v1/signups", json=PATIENT).status_code == 201

    response = client.post("/v1/signups", json={**PATIENT, "email": "  Ada.Lovelace@EXAMPLE.com "})

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:logger-app:problem:email-already-registered"
    assert counters.value("logger_app.signups", outcome="duplicate") == before + 1


def test_idempotent_replay_returns_first_response_and_creates_nothing(
    client: TestClient, queue: Callable[[], list[dict[str, Any]]]
) -> None:
    headers = {"Idempotency-Key": "req-123"}
    first = client.post("/v1/signups", json=PATIENT, headers=headers)
    replay = client.post("/v1/signups", json=PATIENT, headers=headers)
    settle(client)

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    patients = boto3.client("dynamodb").scan(TableName="logger-app-patients")["Items"]
    assert sum(item["pk"]["S"].startswith("patient#") for item in patients) == 1
    assert len(queue()) == 1


def test_idempotency_key_reused_with_other_body_is_409(client: TestClient) -> None:
    headers = {"Idempotency-Key": "req-456"}
    assert client.post("/v1/signups", json=PATIENT, headers=headers).status_code == 201

    response = client.post(
        "/v1/signups",
        json={"email": "grace@example.com", "full_name": "Grace Hopper"},
        headers=headers,
    )

    assert response.status_code == 409
    assert response.json()["type"] == "urn:logger-app:problem:idempotency-key-reused"


def test_unicode_names_are_stored_as_given(client: TestClient) -> None:
    response = client.post(
        "/v1/signups", json={"email": "zoe@example.com", "full_name": "Zoë Ñúñez 李雷"}
    )
    assert response.status_code == 201
    item = boto3.client("dynamodb").get_item(
        TableName="logger-app-patients",
        Key={"pk": {"S": "patient#" + response.json()["patient_id"]}},
    )["Item"]
    assert item["full_name"]["S"] == "Zoë Ñúñez 李雷"


def test_invalid_signups_are_422_naming_the_field(client: TestClient) -> None:
    cases: list[tuple[Any, str]] = [
        ({"full_name": "No Email"}, "body.email"),
        ({"email": "not-an-email", "full_name": "X"}, "body.email"),
        ({"email": "a@example.com", "full_name": ""}, "body.full_name"),
        ({"email": "a@example.com", "full_name": "   "}, "body.full_name"),
        ({"email": "a@example.com", "full_name": 42}, "body.full_name"),
        ({"email": "a@example.com", "full_name": "X", "role": "admin"}, "body.role"),
        ([], "body"),
    ]
    for payload, field in cases:
        response = client.post("/v1/signups", json=payload)
        assert response.status_code == 422, payload
        problem = response.json()
        assert problem["type"] == "urn:logger-app:problem:validation-error"
        assert field in [error["field"] for error in problem["errors"]], (payload, problem)
        assert len(problem["trace_id"]) == 32


def test_empty_and_malformed_bodies_are_422(client: TestClient) -> None:
    for content in (b"", b"{", b"null"):
        response = client.post(
            "/v1/signups", content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422, content
        assert response.headers["content-type"] == "application/problem+json"


def test_an_email_in_unicode_compatibility_forms_is_the_same_email(client: TestClient) -> None:
    assert client.post(
        "/v1/signups", json={**PATIENT, "email": "dave@example.org"}
    ).status_code == (201)

    for email in ("\uff44ave@example.org", "\uff24\uff21\uff36\uff25@example.org"):  # fullwidth
        response = client.post("/v1/signups", json={**PATIENT, "email": email})
        assert response.status_code == 409, email
        assert response.json()["type"] == "urn:logger-app:problem:email-already-registered"
    # A look-alike from another script is another address (the Cyrillic a, U+0430).
    assert client.post(
        "/v1/signups", json={**PATIENT, "email": "d\u0430ve@example.org"}
    ).status_code == (201)
