"""Real HTTP traffic against the app, and a ledger of what each call must have counted."""

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Ledger:
    """Expected totals of the app's counters, keyed by their attributes."""

    signups: Counter[str] = field(default_factory=Counter)  # outcome
    records: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, outcome)
    lookups: Counter[str] = field(default_factory=Counter)  # outcome
    publishes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (event, outcome)
    # Personal data and credentials sent; none of it may appear in any label, span or log.
    personal_data: set[str] = field(default_factory=set)


def new_patient() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {"email": f"patient.{tag}@clinic-e2e.example", "full_name": f"Florence Nightingale{tag}"}


class Driver:
    def __init__(self, client: httpx.Client, ledger: Ledger) -> None:
        self.client = client
        self.ledger = ledger

    def _post(self, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
        return self.client.post(path, json=body, headers=headers)

    def sign_up(self, patient: dict[str, str], key: str | None = None) -> httpx.Response:
        self.ledger.personal_data.update(patient.values())
        headers = {"Idempotency-Key": key} if key else {}
        response = self._post("/v1/signups", patient, **headers)
        assert response.status_code == 201, response.text
        if response.headers.get("Idempotent-Replayed") == "true":
            self.ledger.signups["replayed"] += 1
        else:
            self.ledger.signups["created"] += 1
            self.ledger.publishes["patient.signed_up", "published"] += 1
        return response

    def sign_up_duplicate(self, patient: dict[str, str]) -> httpx.Response:
        response = self._post("/v1/signups", patient)
        assert response.status_code == 409, response.text
        self.ledger.signups["duplicate"] += 1
        return response

    def record(self, patient_id: str, kind: str, record_id: str | None = None) -> httpx.Response:
        body = {"patient_id": patient_id, "doctor_id": "dr-e2e-1", "kind": kind}
        if record_id:
            body["id"] = record_id
        response = self._post("/v1/records", body)
        assert response.status_code == 201, response.text
        self.ledger.records[kind, "created"] += 1
        self.ledger.publishes["record.created", "published"] += 1
        return response

    def lookup(self, path: str) -> httpx.Response:
        response = self.client.get(path)
        assert response.status_code in (200, 404), response.text
        self.ledger.lookups["found" if response.status_code == 200 else "not_found"] += 1
        return response


@dataclass(frozen=True)
class Traffic:
    """What the standard traffic left behind, for the tests to look up."""

    signup: httpx.Response
    not_found: httpx.Response
    record_ids: list[str]


def standard_traffic(driver: Driver) -> Traffic:
    first, second, third = new_patient(), new_patient(), new_patient()
    signup = driver.sign_up(first)
    driver.sign_up(second)
    driver.sign_up_duplicate(first)
    key = "e2e-" + uuid.uuid4().hex
    driver.sign_up(third, key=key)
    replay = driver.sign_up(third, key=key)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    patient_id = signup.json()["patient_id"]
    started = driver.record(patient_id, "call_started").json()
    driver.record(patient_id, "message", started["id"])
    ended = driver.record(patient_id, "call_ended", started["id"]).json()
    driver.lookup(f"/v1/records/{started['id']}")
    driver.lookup(f"/v1/records/{ended['id']}/{ended['timestamp']}")
    not_found = driver.lookup(f"/v1/records/{uuid.uuid4()}")
    assert not_found.status_code == 404
    # A token and an email in a query string reach no span, log line or label either.
    bearer = driver.client.headers["Authorization"].removeprefix("Bearer ")
    email = new_patient()["email"]
    driver.ledger.personal_data.add(email)
    driver.lookup(f"/v1/records/{uuid.uuid4()}?access_token={bearer}&email={email}")
    return Traffic(signup=signup, not_found=not_found, record_ids=[started["id"]])
