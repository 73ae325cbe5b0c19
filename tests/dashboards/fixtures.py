"""Fixtures of the dashboard checks: more traffic, and the app's logs as the real Fluent Bit
delivers them to Loki's push API."""

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboards.semconv import REQUESTS
from harness.issuer import auth_headers
from harness.processes import ManagedProcess, free_port
from tests.e2e.app import App
from tests.e2e.processes import http_ok, poll
from tests.e2e.prometheus import Prometheus
from tests.e2e.traffic import Driver, Ledger, Traffic, new_patient, standard_traffic
from tests.faults import FaultProxy, fault_proxy
from tests.log_router.loki_receiver import LokiReceiver, PushedEntry
from tests.log_router.router import LogRouter, build_fluent_bit, router_environment


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
    """A second instance of the harness's app, with the same command and environment but one
    AWS endpoint pointing where nothing listens, or through a fault proxy: real failures, for the
    failure panels. Its own service.instance.id keeps its series apart from the app's (on ECS
    each task has its own)."""

    def __init__(self, app: App, workdir: Path, name: str, endpoints: dict[str, str]) -> None:
        self.port = free_port()
        argv = [str(self.port) if arg == str(app.port) else arg for arg in app.process.argv]
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **app.process.env,
            **endpoints,
            "OTEL_RESOURCE_ATTRIBUTES": f"service.instance.id={name}",
        }
        self.process = ManagedProcess(
            f"logger-app ({name})", argv, workdir / f"app-{name}.log", env
        )

    def start(self) -> None:
        self.process.start()
        self.process.wait_until(http_ok(f"{self.url}/healthz"))

    def log_lines(self) -> list[dict[str, Any]]:
        return [
            json.loads(line) for line in self.process.output().splitlines() if line.startswith("{")
        ]


@dataclass
class Degraded:
    """The degraded instances, and the fault proxy between one of them and SQS."""

    apps: list[DegradedApp]
    sqs: FaultProxy


def _until_counted(prometheus: Prometheus, counter: str, expected: float) -> None:
    got = poll(
        lambda: sum(s.value for s in prometheus.query(counter)), until=lambda v: v >= expected
    )
    assert got == expected, f"{counter}: {got}, expected {expected}"


@pytest.fixture(scope="session")
def worker(app: App, workdir: Path) -> Iterator[ManagedProcess]:
    """`logger-app worker` beside the app, as on ECS: consumes what the app publishes."""
    argv = [arg for arg in app.process.argv if arg not in {"serve"}]
    executable = argv[0]
    process = ManagedProcess(
        "logger-app worker",
        [executable, "worker"],
        workdir / "worker.log",
        {
            **app.process.env,
            "LOGGER_APP_WORKER_WAIT_SECONDS": "1",
            "LOGGER_APP_WORKER_RETRY_DELAY_SECONDS": "1",
            "OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=worker",
        },
    )
    process.start()
    process.wait_until(lambda: "worker.started" in process.output(), timeout=60)
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def degraded_apps(
    app: App,
    workdir: Path,
    prometheus: Prometheus,
    ledger: Ledger,
    dashboard_traffic: Traffic,
    worker: ManagedProcess,
) -> Iterator[Degraded]:
    """Exactly one of each failure: DynamoDB unreachable (a sign-up and a record fail with 503,
    dependency.unavailable), and SQS throttled (a sign-up saved, its event not published:
    event.publish_failed, then waiting in the outbox until the throttling ends)."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    with fault_proxy(app.process.env["AWS_ENDPOINT_URL"]) as sqs:
        sqs.inject("AmazonSQS.SendMessage", "throttle")
        no_storage = DegradedApp(
            app, workdir, "no-dynamodb", {"AWS_ENDPOINT_URL_DYNAMODB": nowhere}
        )
        # Its own outbox table: the harness's app would otherwise drain (publish) its entries,
        # as another task would, where a real SQS outage fails every task alike.
        outbox = {"LOGGER_APP_OUTBOX_TABLE": "logger-app-outbox-sqs-outage"}
        subprocess.run(
            [app.process.argv[0], "bootstrap"],
            env={**app.process.env, **outbox},
            check=True,
            capture_output=True,
            timeout=60,
        )
        no_queue = DegradedApp(
            app, workdir, "sqs-throttled", {"AWS_ENDPOINT_URL_SQS": sqs.url, **outbox}
        )
        apps = [no_storage, no_queue]
        try:
            for degraded in apps:
                degraded.start()
            with httpx.Client(
                base_url=no_storage.url, timeout=30, headers=auth_headers()
            ) as client:
                patient = new_patient()
                ledger.personal_data.update(patient.values())
                response = client.post("/v1/signups", json=patient)
                assert response.status_code == 503, response.text
                record = {"patient_id": str(uuid.uuid4()), "doctor_id": "dr-e2e-1", "kind": "note"}
                response = client.post("/v1/records", json=record)
                assert response.status_code == 503, response.text
            ledger.signups["failed"] += 1
            ledger.records["note", "failed"] += 1
            with httpx.Client(base_url=no_queue.url, timeout=30, headers=auth_headers()) as client:
                patient = new_patient()
                ledger.personal_data.update(patient.values())
                response = client.post("/v1/signups", json=patient)
                assert response.status_code == 201, response.text
            ledger.signups["created"] += 1
            ledger.publishes["patient.signed_up", "failed"] += 1
            _until_counted(prometheus, 'logger_app_records_total{outcome="failed"}', 1)
            _until_counted(prometheus, 'logger_app_queue_publishes_total{outcome="failed"}', 1)
            yield Degraded(apps, sqs)
        finally:
            for degraded in apps:
                degraded.process.stop()


@pytest.fixture(scope="session")
def delivered_logs(
    workdir: Path,
    app: App,
    degraded_apps: Degraded,
    prometheus: Prometheus,
    dashboard_traffic: Traffic,
) -> list[PushedEntry]:
    """Every line the app processes wrote to stdout, through the real Fluent Bit running
    fluent-bit.conf behind the FireLens stand-in, as Loki's push API receives them."""
    [environment] = {s["deployment_environment"] for s in prometheus.series(REQUESTS)}
    lines = [
        line
        for process in (app.process, *(d.process for d in degraded_apps.apps))
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
