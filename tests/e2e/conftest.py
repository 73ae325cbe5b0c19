"""The end-to-end stack, started once per session on loopback with ports chosen at run time:
moto's server, a stand-in ECS task metadata endpoint, Prometheus (remote-write receiver,
evaluating the alert rules) with its Alertmanager and a webhook receiving the notifications, the
collector built with ocb running a config derived from otel-collector.yaml, and the app under
opentelemetry-instrument, both with the environment ECS gives them."""

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from harness.builds import build_collector
from harness.emulator import bootstrap, moto_server
from harness.issuer import auth_headers
from tests.e2e.alertmanager import Alertmanager, WebhookReceiver
from tests.e2e.app import App
from tests.e2e.collector import LocalCollector
from tests.e2e.ecs_metadata import FakeEcsMetadata
from tests.e2e.prometheus import Prometheus
from tests.e2e.rules import write_rules
from tests.e2e.traces import Span, read_spans
from tests.e2e.traffic import Driver, Ledger, Traffic, standard_traffic

ENVIRONMENT = "e2e"


@pytest.fixture(scope="session")
def session_started() -> float:
    return time.time()


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        bootstrap(endpoint)
        yield endpoint


@pytest.fixture(scope="session")
def ecs_metadata() -> Iterator[FakeEcsMetadata]:
    endpoint = FakeEcsMetadata()
    endpoint.start()
    try:
        yield endpoint
    finally:
        endpoint.stop()


@pytest.fixture(scope="session")
def alert_webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="session")
def alertmanager(workdir: Path, alert_webhook: WebhookReceiver) -> Iterator[Alertmanager]:
    server = Alertmanager(workdir, alert_webhook.url)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def prometheus(workdir: Path, alertmanager: Alertmanager) -> Iterator[Prometheus]:
    server = Prometheus(workdir, write_rules(workdir), alertmanager.address)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def collector(
    workdir: Path, prometheus: Prometheus, ecs_metadata: FakeEcsMetadata
) -> Iterator[LocalCollector]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "ECS_CONTAINER_METADATA_URI_V4": ecs_metadata.uri("aws-otel-collector"),
        # The collector container's own environment on ECS (see the README).
        "OTEL_RESOURCE_ATTRIBUTES": f"service.name=logger-app,deployment.environment={ENVIRONMENT}",
    }
    local = LocalCollector(build_collector(), workdir, prometheus.remote_write_url, env)
    try:
        local.start()
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="session")
def app(
    workdir: Path,
    aws_endpoint: str,
    collector: LocalCollector,
    ecs_metadata: FakeEcsMetadata,
    session_started: float,
) -> Iterator[App]:
    service = App(workdir, aws_endpoint, collector.otlp_grpc_endpoint, ecs_metadata.uri("app"))
    try:
        service.start()
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture(scope="session")
def driver(app: App, ledger: Ledger) -> Iterator[Driver]:
    headers = auth_headers()
    # The access token, and each of its parts, may no more leak than personal data.
    bearer = headers["Authorization"].removeprefix("Bearer ")
    ledger.personal_data.update([bearer, *bearer.split(".")])
    with httpx.Client(base_url=app.url, timeout=10, headers=headers) as client:
        yield Driver(client, ledger)


@pytest.fixture(scope="session")
def traffic(driver: Driver) -> Traffic:
    return standard_traffic(driver)


@pytest.fixture
def spans(collector: LocalCollector) -> Callable[[], list[Span]]:
    """Every span the collector exported so far, across restarts."""
    return lambda: read_spans(collector.trace_files)
