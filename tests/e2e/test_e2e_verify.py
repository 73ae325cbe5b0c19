"""`logger-app verify` against the e2e stack, as a real process: it passes when every sink gets
the journey's telemetry, and names exactly the sink taken away otherwise, within its deadline.

The sinks: the e2e Prometheus (the collector's remote write), Loki and Tempo stand-ins (neither
can run here: AGPL) answering their query APIs over what they really received — the Loki push
receiver fed by the real Fluent Bit with the app's and the worker's stdout, and a trace store
over the spans the real collector exported — and a real `logger-app worker` consuming the queue.
"""

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.issuer import ISSUER_ENV
from harness.processes import BIN, ManagedProcess, free_port
from logger_app.telemetry_outage import RECOVERED
from tests.collector.otelcol import MAY_BUILD_COLLECTOR
from tests.e2e.app import App, app_env
from tests.e2e.collector import LocalCollector
from tests.e2e.ecs_metadata import FakeEcsMetadata
from tests.e2e.log_shipping import Shipper
from tests.e2e.processes import poll
from tests.e2e.prometheus import Prometheus
from tests.e2e.trace_store import TraceStore
from tests.e2e.traffic import Driver, new_patient
from tests.log_router.loki_receiver import LokiReceiver
from tests.log_router.router import LogRouter, build_fluent_bit, router_environment

pytestmark = [pytest.mark.e2e, MAY_BUILD_COLLECTOR]

# The app exports metrics every second here (tests/e2e/app.py): a sink that has not got the
# journey after this long is not getting it.
FAILING_DEADLINE = 30
PASSING_DEADLINE = 120
ROW = re.compile(r"^(\w+)\s+(arrived in \d+ s|missing: .*|unknown: .*)$", re.MULTILINE)


@pytest.fixture(scope="module")
def worker(
    workdir: Path, aws_endpoint: str, collector: LocalCollector, ecs_metadata: FakeEcsMetadata
) -> Iterator[ManagedProcess]:
    process = ManagedProcess(
        "logger-app worker",
        [str(BIN / "logger-app"), "worker"],
        workdir / "worker.log",
        env=app_env(aws_endpoint, collector.otlp_grpc_endpoint, ecs_metadata.uri("worker")),
    )
    process.start()
    process.wait_until(lambda: '"worker.started"' in process.output())
    yield process
    process.stop()


@pytest.fixture(scope="module")
def loki() -> Iterator[LokiReceiver]:
    receiver = LokiReceiver(free_port())
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def log_router(
    workdir: Path, loki: LokiReceiver, app: App, worker: ManagedProcess
) -> Iterator[LogRouter]:
    directory = workdir / "verify-logs"
    directory.mkdir()
    router = LogRouter(build_fluent_bit(), directory, router_environment(loki.port))
    router.start()
    shipper = Shipper(router, {"app": app.log_path, "worker": worker.log_path})
    shipper.start()
    yield router
    shipper.stop()
    router.stop()


@pytest.fixture(scope="module")
def trace_store(collector: LocalCollector) -> Iterator[TraceStore]:
    store = TraceStore(lambda: list(collector.trace_files), free_port())
    store.start()
    yield store
    store.stop()


@pytest.fixture(scope="module")
def stack(
    app: App,
    prometheus: Prometheus,
    loki: LokiReceiver,
    log_router: LogRouter,
    trace_store: TraceStore,
    worker: ManagedProcess,
) -> list[str]:
    """The verify command line against this stack."""
    return [
        str(BIN / "logger-app"),
        "verify",
        *("--api", app.url),
        *("--prometheus", prometheus.url),
        *("--loki", loki.url),
        *("--tempo", trace_store.url),
    ]


def verify(command: list[str], deadline: float) -> tuple[int, dict[str, str], str]:
    """Run it; its exit status, each sink's verdict from the table, and its whole output."""
    started = time.monotonic()
    result = subprocess.run(
        [*command, "--deadline", str(deadline)],
        # Its token from the tests' local issuer, the one the app trusts.
        env={"PATH": str(BIN), **ISSUER_ENV},
        capture_output=True,
        text=True,
        timeout=deadline + 60,
        check=False,
    )
    output = result.stdout + result.stderr
    # Within its deadline (and the journey's and the last poll's few seconds).
    assert time.monotonic() - started < deadline + 30, output
    return result.returncode, dict(ROW.findall(output)), output


def failed(verdicts: dict[str, str]) -> set[str]:
    return {sink for sink, verdict in verdicts.items() if verdict.startswith("missing")}


SINKS = {"prometheus", "tempo", "loki", "worker"}


def test_verify_passes_when_every_sink_gets_the_journey(stack: list[str]) -> None:
    status, verdicts, output = verify(stack, PASSING_DEADLINE)
    assert status == 0, output
    assert set(verdicts) == SINKS, output
    assert all(verdict.startswith("arrived in") for verdict in verdicts.values()), output


def test_prometheus_down_is_named(stack: list[str], prometheus: Prometheus) -> None:
    prometheus.stop()
    try:
        status, verdicts, output = verify(stack, FAILING_DEADLINE)
    finally:
        prometheus.start()
    assert status == 1, output
    assert failed(verdicts) == {"prometheus"}, output
    assert "unreachable" in verdicts["prometheus"], output


def test_trace_store_down_is_named(stack: list[str], trace_store: TraceStore) -> None:
    trace_store.stop()
    try:
        status, verdicts, output = verify(stack, FAILING_DEADLINE)
    finally:
        trace_store.start()
    assert status == 1, output
    assert failed(verdicts) == {"tempo"}, output


def test_worker_not_running_is_named(stack: list[str], worker: ManagedProcess) -> None:
    worker.stop()
    try:
        status, verdicts, output = verify(stack, FAILING_DEADLINE)
    finally:
        worker.start()
    assert status == 1, output
    assert failed(verdicts) == {"worker"}, output
    assert "worker.processed" in verdicts["worker"], output


def test_collector_down_names_the_sinks_behind_it_then_back_all_arrive(
    stack: list[str], collector: LocalCollector, app: App, driver: Driver
) -> None:
    # The metrics and traces both pass through the collector: both are missing, and each says
    # where to look; the log lines (stdout, Fluent Bit) and the worker are untouched.
    seen = len(app.log_lines())
    collector.stop()
    try:
        status, verdicts, output = verify(stack, FAILING_DEADLINE)
    finally:
        collector.start()
    assert status == 1, output
    assert failed(verdicts) == {"prometheus", "tempo"}, output
    assert all("collector" in verdicts[sink] for sink in ("prometheus", "tempo")), output

    # A batch of spans is exported once: a journey made before the app's exporters reconnect
    # loses its trace (they reconnect within a second or two: logger_app.telemetry_exporters).
    # Requests, as traffic would make, until the app says its traces get through again.
    def sign_up_then_traces_recovered() -> list[dict[str, object]]:
        driver.sign_up(new_patient())
        return [
            line
            for line in app.log_lines()[seen:]
            if line.get("event") == RECOVERED and line.get("telemetry_signal") == "traces"
        ]

    assert poll(sign_up_then_traces_recovered, until=bool, timeout=60, every=2)
    # Then every sink gets the journey again: the cases after this one start from a working
    # stack.
    status, verdicts, output = verify(stack, PASSING_DEADLINE)
    assert status == 0, output


# Last: Fluent Bit backs off retrying the pushes Loki refused, for up to a minute.
def test_loki_down_is_named(stack: list[str], loki: LokiReceiver) -> None:
    loki.stop()
    try:
        status, verdicts, output = verify(stack, FAILING_DEADLINE)
    finally:
        loki.start()
    assert status == 1, output
    assert failed(verdicts) == {"loki"}, output
    # The worker's lines are read through Loki: not told, not blamed.
    assert verdicts["worker"].startswith("unknown"), output


def test_a_journey_the_api_refuses_names_the_api(stack: list[str]) -> None:
    status, _, output = verify([*stack, "--token", "not-a-token"], FAILING_DEADLINE)
    assert status == 2, output
    assert "POST /v1/signups answered 401" in output, output
