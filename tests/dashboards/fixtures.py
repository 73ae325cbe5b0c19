"""Fixtures of the dashboard checks: more traffic, and the app's logs as the real Fluent Bit
delivers them to Loki's push API."""

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboards.semconv import REQUESTS
from tests.e2e.app import App
from tests.e2e.processes import ManagedProcess, http_ok, poll
from tests.e2e.prometheus import Prometheus
from tests.e2e.traffic import Driver, Ledger, Traffic, new_patient, standard_traffic
from tests.log_router.loki_receiver import LokiReceiver, PushedEntry
from tests.log_router.router import LogRouter, build_fluent_bit, router_environment
from tests.support import free_port


def _extras(driver: Driver, traffic: Traffic) -> None:
    """What the standard traffic lacks for the dashboards: a note, a sign-up whose idempotency
    key is then reused with another body (rejected), and an invalid record (422)."""
    patient_id = traffic.signup.json()["patient_id"]
    driver.record(patient_id, "note", traffic.record_ids[0])
    key = "dash-" + uuid.uuid4().hex
    driver.sign_up(new_patient(), key=key)
    reused = driver.client.post("/v1/signups", json=new_patient(), headers={"Idempotency-Key": key})
    # The README says 422; the app answers 409. Either way it is counted as rejected.
    assert reused.json()["type"] == "urn:logger-app:problem:idempotency-key-reused", reused.text
    invalid = driver.client.post("/v1/records", json={"patient_id": patient_id, "kind": "visit"})
    assert invalid.status_code == 422, invalid.text


def _counted(prometheus: Prometheus, metric: str, expected: float) -> None:
    got = poll(
        lambda: sum(s.value for s in prometheus.query(metric)), until=lambda v: v == expected
    )
    assert got == expected, f"{metric}: {got} in Prometheus, {expected} sent"


@pytest.fixture(scope="session")
def dashboard_traffic(
    driver: Driver, traffic: Traffic, ledger: Ledger, prometheus: Prometheus
) -> Traffic:
    """Two rounds of the e2e standard traffic plus extras, the second after Prometheus has the
    first: every series then grows after its first sample, so rate() and increase() see it (a
    counter's first sample already holds everything counted before it)."""
    _extras(driver, traffic)
    _counted(prometheus, 'logger_app_records_total{kind="note"}', 1)
    second = standard_traffic(driver)
    _extras(driver, second)
    _counted(prometheus, 'logger_app_signups_total{outcome="created"}', ledger.signups["created"])
    _counted(prometheus, 'logger_app_records_total{kind="note"}', 2)
    return traffic


class DegradedApp:
    """A second instance of the harness's app, with the same command and environment but one or
    both AWS endpoints pointing where nothing listens: real failures, for the failure panels."""

    def __init__(self, app: App, workdir: Path, name: str, dead: dict[str, str]) -> None:
        self.port = free_port()
        argv = [str(self.port) if arg == str(app.port) else arg for arg in app.process.argv]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = ManagedProcess(
            f"logger-app ({name})", argv, workdir / f"app-{name}.log", {**app.process.env, **dead}
        )

    def start(self) -> None:
        self.process.start()
        self.process.wait_until(http_ok(f"{self.url}/healthz"))

    def log_lines(self) -> list[dict[str, Any]]:
        return [
            json.loads(line) for line in self.process.output().splitlines() if line.startswith("{")
        ]


def _at_least(n: float) -> Callable[[float], bool]:
    return lambda value: value >= n


def _fail_twice(prometheus: Prometheus, cause: Callable[[], None], counter: str) -> None:
    """Cause a failure, wait until Prometheus has its new series, cause it again: increase()
    only sees what a series gained after its first sample."""
    for times in (1, 2):
        cause()
        # At least: a background retry of the outbox may count more failures.
        got = poll(
            lambda: sum(s.value for s in prometheus.query(counter)),
            until=_at_least(times),
        )
        assert got >= times, f"{counter}: {got} after {times} failures"


@pytest.fixture(scope="session")
def degraded_apps(
    app: App, workdir: Path, prometheus: Prometheus, ledger: Ledger, dashboard_traffic: Traffic
) -> Iterator[list[DegradedApp]]:
    """DynamoDB unreachable (sign-ups and records fail with 503, dependency.unavailable), and SQS
    unreachable (saved, but the event is not published: event.publish_failed)."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    no_storage = DegradedApp(app, workdir, "no-dynamodb", {"AWS_ENDPOINT_URL_DYNAMODB": nowhere})
    no_queue = DegradedApp(app, workdir, "no-sqs", {"AWS_ENDPOINT_URL_SQS": nowhere})
    apps = [no_storage, no_queue]
    try:
        for degraded in apps:
            degraded.start()
        with httpx.Client(base_url=no_storage.url, timeout=30) as client:

            def unsaved() -> None:
                patient = new_patient()
                ledger.personal_data.update(patient.values())
                response = client.post("/v1/signups", json=patient)
                assert response.status_code == 503, response.text
                record = {"patient_id": str(uuid.uuid4()), "doctor_id": "dr-e2e-1", "kind": "note"}
                response = client.post("/v1/records", json=record)
                assert response.status_code == 503, response.text

            _fail_twice(prometheus, unsaved, 'logger_app_records_total{outcome="failed"}')
        with httpx.Client(base_url=no_queue.url, timeout=30) as client:

            def unpublished() -> None:
                patient = new_patient()
                ledger.personal_data.update(patient.values())
                response = client.post("/v1/signups", json=patient)
                assert response.status_code == 201, response.text

            _fail_twice(
                prometheus, unpublished, 'logger_app_queue_publishes_total{outcome="failed"}'
            )
        yield apps
    finally:
        for degraded in apps:
            degraded.process.stop()


@pytest.fixture(scope="session")
def delivered_logs(
    workdir: Path,
    app: App,
    degraded_apps: list[DegradedApp],
    prometheus: Prometheus,
    dashboard_traffic: Traffic,
) -> list[PushedEntry]:
    """Every line the app processes wrote to stdout, through the real Fluent Bit running
    fluent-bit.conf behind the FireLens stand-in, as Loki's push API receives them."""
    [environment] = {s["deployment_environment"] for s in prometheus.series(REQUESTS)}
    lines = [
        line
        for process in (app.process, *(d.process for d in degraded_apps))
        for line in process.output().splitlines()
        if line.strip()
    ]
    loki = LokiReceiver(free_port())
    loki.start()
    router = LogRouter(
        build_fluent_bit(),
        workdir / "dashboards-log-router",
        router_environment(loki.port, environment=environment),
    )
    try:
        router.start()
        router.send(lines)
        entries = poll(loki.snapshot, until=lambda got: len(got) >= len(lines), timeout=60)
    finally:
        router.stop()
        loki.stop()
    assert len(entries) == len(lines), f"{len(entries)} of {len(lines)} lines delivered"
    return entries
