"""Synthetic requests (`logger-app verify`'s): accepted from the clients configured as synthetic
(and, locally, from the local issuer's verify client), and marked on their server span, on
every log line they and their events make, on their counters, and in what they store (which
expires)."""

import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from harness.issuer import ALL_SCOPES, ISSUER_DIR
from logger_app import local_issuer, metrics, synthetic
from logger_app.events import Event
from logger_app.settings import Settings
from logger_app.signups import email_key
from logger_app.worker.consumer import Worker
from logger_app.worker.main import build_worker
from tests.integration.conftest import AppFactory, Counters, Logs, settle


def _verify_headers() -> dict[str, str]:
    token = local_issuer.mint(ISSUER_DIR, ALL_SCOPES, client_id=local_issuer.SYNTHETIC_CLIENT_ID)
    return {"Authorization": f"Bearer {token}"}


def _marked(spans: InMemorySpanExporter) -> list[bool]:
    return [
        bool((span.attributes or {}).get(synthetic.SPAN_ATTRIBUTE))
        for span in spans.get_finished_spans()
        if span.kind.name == "SERVER"
    ]


def test_the_local_verify_client_is_accepted_and_its_requests_are_marked(
    make_client: AppFactory, spans: InMemorySpanExporter
) -> None:
    client: TestClient = make_client()
    response = client.get(f"/v1/records/{uuid.uuid4()}", headers=_verify_headers())
    assert response.status_code == 404, response.text
    assert _marked(spans) == [True]


def test_a_patient_client_is_not_marked(client: TestClient, spans: InMemorySpanExporter) -> None:
    assert client.get(f"/v1/records/{uuid.uuid4()}").status_code == 404
    assert _marked(spans) == [False]


def _new_patient() -> dict[str, str]:
    return {"email": f"verify-{uuid.uuid4().hex[:10]}@example.com", "full_name": "Verify"}


@pytest.fixture
def worker(aws: str) -> Worker:
    return build_worker(
        Settings(worker_wait_seconds=0, worker_retry_delay_seconds=0), queue_url=aws
    )


def test_every_line_of_a_synthetic_request_and_of_its_event_is_marked(
    client: TestClient, worker: Worker, logs: Logs
) -> None:
    response = client.post("/v1/signups", json=_new_patient(), headers=_verify_headers())
    assert response.status_code == 201, response.text
    settle(client)
    assert worker.poll_once() == 1

    # Not the process's own lines, which the request merely came first to (the issuer's keys).
    process = {"service.started", "auth.jwks_fetched"}
    lines = [line for line in logs() if line["event"] not in process]
    events = {line["event"] for line in lines}
    # The request's own line, its audit line (still written: every PHI access is audited),
    # the service's line and the worker's.
    assert {"http.request", "audit", "signup.created", "worker.processed"} <= events
    assert [line["event"] for line in lines if line.get("synthetic") is not True] == []
    audit = next(line for line in lines if line["event"] == "audit")
    assert audit["client_id"] == local_issuer.SYNTHETIC_CLIENT_ID


def test_a_synthetic_requests_event_carries_the_mark(
    client: TestClient, queue: Callable[[], list[dict[str, Any]]]
) -> None:
    client.post("/v1/signups", json=_new_patient(), headers=_verify_headers())
    client.post("/v1/signups", json=_new_patient())
    settle(client)
    marks = sorted(message["attributes"].get("synthetic", "") for message in queue())
    assert marks == ["", "true"]


def test_a_patients_lines_are_not_marked(client: TestClient, worker: Worker, logs: Logs) -> None:
    assert client.post("/v1/signups", json=_new_patient()).status_code == 201
    settle(client)
    assert worker.poll_once() == 1
    assert [line["event"] for line in logs() if "synthetic" in line] == []


def test_an_event_from_the_outbox_keeps_its_mark() -> None:
    with synthetic.marked(True):
        event = Event("patient.signed_up", {"patient_id": "p"})
    assert Event.from_json(event.to_json()).synthetic is True
    assert Event.from_json(Event("patient.signed_up", {}).to_json()).synthetic is False


def test_synthetic_traffic_is_counted_apart_from_patients(
    client: TestClient, worker: Worker, counters: Counters
) -> None:
    def count(name: str, traffic: str, **attributes: str) -> float:
        return counters.value(name, traffic=traffic, **attributes)

    before = {
        traffic: (
            count("logger_app.signups", traffic, outcome="created"),
            count("logger_app.records", traffic, outcome="created"),
            count("logger_app.worker_events", traffic, outcome="processed"),
        )
        for traffic in synthetic.TRAFFIC
    }
    patient_id = client.post("/v1/signups", json=_new_patient(), headers=_verify_headers()).json()[
        "patient_id"
    ]
    record = {"patient_id": patient_id, "doctor_id": "verify-doctor", "kind": "note"}
    assert client.post("/v1/records", json=record, headers=_verify_headers()).status_code == 201
    settle(client)
    assert worker.poll_once() == 2

    after = {
        traffic: (
            count("logger_app.signups", traffic, outcome="created"),
            count("logger_app.records", traffic, outcome="created"),
            count("logger_app.worker_events", traffic, outcome="processed"),
        )
        for traffic in synthetic.TRAFFIC
    }
    moved = {t: tuple(a - b for a, b in zip(after[t], before[t], strict=True)) for t in after}
    assert moved == {"synthetic": (1, 1, 2), "patient": (0, 0, 0)}


def test_the_http_histogram_tells_synthetic_requests_from_patients(
    client: TestClient, counters: Counters
) -> None:
    # The tests' process runs the instrumentation's default (old) HTTP conventions, whose
    # histogram is http.server.duration; production's stable one has the same attribute
    # (tests/unit/test_traffic_meter.py).
    name = "http.server.duration"

    def count(traffic: str) -> float:
        attributes = {"http.target": "/v1/records/{id}", "logger_app.traffic": traffic}
        return counters.value(name, **attributes)

    before = count("synthetic"), count("patient")
    client.get(f"/v1/records/{uuid.uuid4()}", headers=_verify_headers())
    client.get(f"/v1/records/{uuid.uuid4()}")
    client.get(f"/v1/records/{uuid.uuid4()}")
    assert (count("synthetic") - before[0], count("patient") - before[1]) == (1, 2)
    # Bounded: only the two values, never a client id.
    values = {a.get("logger_app.traffic") for a in counters.attribute_sets(name)}
    assert values == {"synthetic", "patient"}


def test_every_patient_facing_counter_starts_at_zero_for_both_kinds_of_traffic(
    client: TestClient, counters: Counters
) -> None:
    metrics.start_counting_events()
    names = ("signups", "records", "record_lookups", "worker_events")
    for name in (f"logger_app.{n}" for n in names):
        sets = counters.attribute_sets(name)
        assert {a.get("traffic") for a in sets} == {"synthetic", "patient"}, name


def _item(table: str, key: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = boto3.client("dynamodb").get_item(
        TableName=table, Key={name: {"S": value} for name, value in key.items()}
    )["Item"]
    return item


def _journey(client: TestClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """A sign-up, a record and the worker's effects; every item they stored, by name."""
    patient = _new_patient()
    signup = client.post("/v1/signups", json=patient, headers=headers)
    assert signup.status_code == 201, signup.text
    patient_id = signup.json()["patient_id"]
    doctor = f"dr-{uuid.uuid4().hex[:8]}"
    body = {"patient_id": patient_id, "doctor_id": doctor, "kind": "note"}
    record = client.post("/v1/records", json=body, headers=headers).json()
    settle(client)
    worker = build_worker(Settings(worker_wait_seconds=0, worker_retry_delay_seconds=0))
    assert worker.poll_once() == 2
    patients = "logger-app-patients"
    return {
        "patient": _item(patients, {"pk": f"patient#{patient_id}"}),
        "email guard": _item(patients, {"pk": email_key(patient["email"])}),
        "record": _item(
            "logger-app-records", {"id": record["id"], "timestamp": record["timestamp"]}
        ),
        "interaction owner": _item(patients, {"pk": f"interaction#{record['id']}"}),
        "doctor counts": _item(patients, {"pk": f"doctor#{doctor}"}),
    }


def test_what_a_synthetic_journey_stores_expires_within_a_day(client: TestClient) -> None:
    started = time.time()
    items = _journey(client, _verify_headers())
    expiries = {name: int(item["expires_at"]["N"]) for name, item in items.items()}
    day = synthetic.TTL_SECONDS
    assert all(started + day - 5 <= at <= time.time() + day for at in expiries.values()), expiries
    assert sorted(expiries) == sorted(items)  # every one of them
    # DynamoDB removes them: each table's TTL is on that attribute.
    dynamodb = boto3.client("dynamodb")
    for table in ("logger-app-patients", "logger-app-records"):
        ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        assert (ttl["TimeToLiveStatus"], ttl.get("AttributeName")) == ("ENABLED", "expires_at")


def test_what_a_patients_journey_stores_never_expires(client: TestClient) -> None:
    items = _journey(client, {})
    assert {name: "expires_at" in item for name, item in items.items()} == dict.fromkeys(
        items, False
    )
