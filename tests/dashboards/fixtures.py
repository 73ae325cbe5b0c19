"""Fixtures of the dashboard checks: more traffic, a real Loki, and the app's logs in it."""

import json
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboards.semconv import REQUESTS
from tests.dashboards.loki import Loki, build_loki, loki_output
from tests.e2e.app import App
from tests.e2e.processes import ManagedProcess, http_ok, poll
from tests.e2e.prometheus import Prometheus
from tests.e2e.traffic import Driver, Ledger, Traffic, new_patient, standard_traffic
from tests.support import free_port

# What the log router is given on ECS (infra/) and in docker compose, besides ENVIRONMENT: the
# same environment name the app's metrics carry, so one dashboard variable selects both.
SERVICE_NAME = "logger-app"


# The FireLens record around each stdout line (REFERENCE.md, "FireLens").
FIRELENS_FIELDS = {
    "source": "stdout",
    "container_id": "0123456789abcdef0123456789abcdef-1234567890",
    "container_name": "app",
    "ecs_cluster": "logger-app",
    "ecs_task_arn": "arn:aws:ecs:us-east-1:123456789012:task/logger-app/0123456789abcdef",
    "ecs_task_definition": "logger-app:7",
}


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
def loki(workdir: Path) -> Iterator[Loki]:
    server = Loki(build_loki(), workdir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _firelens_record(line: dict[str, Any]) -> dict[str, Any]:
    """The record fluent-bit.conf's parser filter leaves: the app's JSON keys beside the
    FireLens ones (Reserve_Data On)."""
    return {**FIRELENS_FIELDS, **line}


@pytest.fixture(scope="session")
def shipped_logs(
    loki: Loki,
    app: App,
    degraded_apps: list[DegradedApp],
    prometheus: Prometheus,
    dashboard_traffic: Traffic,
) -> list[dict[str, Any]]:
    """Every JSON line the app wrote, pushed to Loki with the labels, structured metadata and
    removed keys of fluent-bit.conf's [OUTPUT]; returns the lines as the app wrote them."""
    [environment] = {s["deployment_environment"] for s in prometheus.series(REQUESTS)}
    router_env = {"SERVICE_NAME": SERVICE_NAME, "ENVIRONMENT": environment}
    output = loki_output()
    lines = app.log_lines() + [line for d in degraded_apps for line in d.log_lines()]
    streams: dict[tuple[tuple[str, str], ...], list[list[Any]]] = defaultdict(list)
    for line in lines:
        record = _firelens_record(line)
        labels = output.labels(record, router_env)
        metadata = {k: str(record[k]) for k in output.structured_metadata if k in record}
        body = {k: v for k, v in record.items() if k not in output.removed_keys}
        timestamp = datetime.fromisoformat(line["time"].replace("Z", "+00:00")).timestamp()
        # fluent-bit.conf's Line_Format json writes compact JSON.
        entry = [str(int(timestamp * 1e9)), json.dumps(body, separators=(",", ":")), metadata]
        streams[tuple(sorted(labels.items()))].append(entry)
    loki.push(
        [
            {"stream": dict(labels), "values": sorted(values, key=lambda v: int(v[0]))}
            for labels, values in streams.items()
        ]
    )
    # Queryable as soon as the ingester has it; give it a moment.
    deadline = time.monotonic() + 30
    while not loki.query_range('{service=~".+"}', time.time() - 3600, time.time())["result"]:
        assert time.monotonic() < deadline, "Loki did not return the pushed lines"
        time.sleep(0.5)
    return lines
