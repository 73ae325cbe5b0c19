"""Telemetry never fails a request: with the collector stopped the app answers every request
as usual, and once the collector is back the telemetry flows again; the outage is one log line
when it starts and one when it ends (per signal), not one per failed export."""

import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from logger_app.telemetry_outage import FAILING, RECOVERED
from tests.collector.otelcol import MAY_BUILD_COLLECTOR
from tests.e2e.app import App
from tests.e2e.collector import LocalCollector
from tests.e2e.processes import poll
from tests.e2e.prometheus import Prometheus
from tests.e2e.test_e2e_traces import signup_trace_id
from tests.e2e.traces import SERVER, Span
from tests.e2e.traffic import Driver, Ledger, Traffic, new_patient

pytestmark = [pytest.mark.e2e, MAY_BUILD_COLLECTOR]

# Generous for loopback, far below the exporter's retry timeout: a request that waited on the
# exporter would take seconds.
MAX_REQUEST_SECONDS = 1.5


@pytest.fixture
def collector_down(collector: LocalCollector) -> Iterator[None]:
    collector.stop()
    try:
        yield
    finally:
        if not collector.running:
            collector.start()


def _timed(call: Callable[[], httpx.Response]) -> httpx.Response:
    started = time.monotonic()
    response = call()
    assert time.monotonic() - started < MAX_REQUEST_SECONDS, response.request.url
    return response


def test_app_answers_every_request_while_the_collector_is_down(
    traffic: Traffic, driver: Driver, collector: LocalCollector, collector_down: None
) -> None:
    assert not collector.running
    patient = new_patient()
    signup = _timed(lambda: driver.sign_up(patient))
    _timed(lambda: driver.sign_up_duplicate(patient))
    patient_id = signup.json()["patient_id"]
    record = _timed(lambda: driver.record(patient_id, "note")).json()
    assert _timed(lambda: driver.lookup(f"/v1/records/{record['id']}")).status_code == 200
    assert _timed(lambda: driver.lookup(f"/v1/records/{uuid.uuid4()}")).status_code == 404
    assert _timed(lambda: driver.client.get("/healthz")).status_code == 200
    assert _timed(lambda: driver.client.get("/readyz")).status_code == 200


def test_telemetry_flows_again_after_the_collector_restarts(
    traffic: Traffic,
    app: App,
    driver: Driver,
    ledger: Ledger,
    collector: LocalCollector,
    prometheus: Prometheus,
    spans: Callable[[], list[Span]],
) -> None:
    collector.stop()
    driver.sign_up(new_patient())  # while it is down
    collector.start()

    signup = driver.sign_up(new_patient())
    trace_id = signup_trace_id(app, signup.json()["patient_id"])
    after_restart = poll(
        lambda: [s for s in spans() if s.trace_id == trace_id and s.kind == SERVER],
        until=bool,
        timeout=90,
    )
    assert after_restart, "no span of the sign-up sent after the restart reached the collector"
    # Counters are cumulative in the app: the restarted pipeline carries every sign-up, including
    # the one counted while the collector was down.
    created = poll(
        lambda: prometheus.query('sum(logger_app_signups_total{outcome="created"})'),
        until=lambda s: bool(s) and s[0].value == ledger.signups["created"],
        timeout=90,
    )
    assert [s.value for s in created] == [ledger.signups["created"]]


EXPORTER_LOGGER = "opentelemetry.exporter.otlp.proto.grpc.exporter"


def test_an_outage_is_one_line_when_it_starts_and_one_when_it_ends(
    traffic: Traffic, app: App, driver: Driver, collector: LocalCollector
) -> None:
    seen = len(app.log_lines())

    def events(name: str) -> list[dict[str, object]]:
        return [line for line in app.log_lines()[seen:] if line.get("event") == name]

    collector.stop()
    try:
        # Metrics every second and a batch of spans per sign-up: a dozen failed exports, each
        # given up after OTEL_EXPORTER_OTLP_TIMEOUT (5 s here).
        for _ in range(6):
            driver.sign_up(new_patient())
            time.sleep(2)
        failing = poll(lambda: events(FAILING), until=lambda lines: len(lines) >= 2, timeout=30)
    finally:
        collector.start()

    def sign_up_then_recovered() -> list[dict[str, object]]:
        # Traces are exported only when there are spans: a request each time, as traffic would.
        driver.sign_up(new_patient())
        return events(RECOVERED)

    recovered = poll(sign_up_then_recovered, until=lambda lines: len(lines) >= 2, every=2)

    assert sorted(str(line["telemetry_signal"]) for line in failing) == ["metrics", "traces"]
    assert sorted(str(line["telemetry_signal"]) for line in recovered) == ["metrics", "traces"]
    assert len(events(FAILING)) == 2  # not one per failed export
    assert [line for line in app.log_lines()[seen:] if line.get("logger") == EXPORTER_LOGGER] == []
