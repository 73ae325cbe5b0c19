"""The app in-process, talking through boto3 over real HTTP to moto's server in another process."""

import io
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from harness.emulator import AWS_TEST_ENV, moto_server, reset_moto
from harness.issuer import ISSUER_DIR, auth_headers
from logger_app.bootstrap import bootstrap
from logger_app.clock import utc_now
from logger_app.logs import ServiceJsonFormatter
from logger_app.main import create_app
from logger_app.settings import ApiSettings, Settings
from tests.faults import FaultProxy, fault_proxy

# Global providers can be set once per process: one pair for the whole session.
_spans = InMemorySpanExporter()
_metric_reader = InMemoryMetricReader()


@pytest.fixture(scope="session", autouse=True)
def telemetry() -> None:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(_spans))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[_metric_reader]))
    BotocoreInstrumentor().instrument()


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, bootstrapped emulator for each test; returns the queue URL."""
    for name, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    reset_moto(aws_endpoint)
    return bootstrap(Settings())


@pytest.fixture
def spans() -> InMemorySpanExporter:
    _spans.clear()
    return _spans


class Counters:
    """Reads the cumulative counters; tests compare before and after."""

    def attribute_sets(self, name: str) -> list[dict[str, Any]]:
        """The attribute set of every series of one instrument."""
        data = _metric_reader.get_metrics_data()
        return [
            dict(point.attributes or {})
            for resource_metrics in (data.resource_metrics if data else [])
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]

    def value(self, name: str, **attributes: str) -> float:
        """A counter's total, or a histogram's count, over the points with these attributes."""
        data = _metric_reader.get_metrics_data()
        total = 0.0
        for resource_metrics in data.resource_metrics if data else []:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name != name:
                        continue
                    for point in metric.data.data_points:
                        if all(point.attributes.get(k) == v for k, v in attributes.items()):
                            total += getattr(point, "value", None) or getattr(point, "count", 0)
        return total


@pytest.fixture
def counters() -> Counters:
    return Counters()


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(aws: str) -> Iterator[AppFactory]:
    """Start the app with settings overrides; every client is closed (lifespan ends) at teardown.

    The app trusts the tests' local issuer, and each client sends a token with every scope
    (a request's own Authorization header replaces it). ``clock``: the records' timestamps."""
    clients: list[TestClient] = []

    def make(clock: Callable[[], str] = utc_now, **overrides: Any) -> TestClient:
        app = create_app(ApiSettings(**{"local_issuer_dir": ISSUER_DIR, **overrides}), clock=clock)
        client = TestClient(app, raise_server_exceptions=False, headers=auth_headers())
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    return make_client()


@pytest.fixture
def queue(aws: str) -> Callable[[], list[dict[str, Any]]]:
    """Receive what the app published: each message's body and attributes."""
    sqs = boto3.client("sqs")

    def receive() -> list[dict[str, Any]]:
        response = sqs.receive_message(
            QueueUrl=aws,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        return [
            {
                "body": json.loads(message["Body"]),
                "attributes": {
                    name: value["StringValue"]
                    for name, value in message.get("MessageAttributes", {}).items()
                },
            }
            for message in response.get("Messages", [])
        ]

    return receive


Logs = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def logs() -> Iterator[Logs]:
    """The JSON lines the app's loggers write, formatted as on stdout.

    Collected on the package logger: pytest swaps sys.stdout between fixture setup and the
    test, and each app the tests create reconfigures the root logger.
    """
    logger = logging.getLogger("logger_app")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ServiceJsonFormatter(environment="local"))
    logger.addHandler(handler)

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield read
    logger.removeHandler(handler)


@pytest.fixture
def faults(aws_endpoint: str, aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """Route the app's AWS calls through the fault proxy (apps created after this fixture)."""
    with fault_proxy(aws_endpoint) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        yield proxy


def settle(client: TestClient) -> None:
    """Return once the events of the requests answered so far have been sent (or refused):
    a write answers at its commit, and its event follows in a batch."""
    publisher = client.app.state.services.publisher  # type: ignore[attr-defined]
    client.portal.call(publisher.flush)  # type: ignore[union-attr]


def existing_patient() -> str:
    """A patient's id, its item stored as a sign-up stores it but without the sign-up's event,
    for the tests of records (which must name a patient who signed up)."""
    patient_id = str(uuid.uuid4())
    boto3.client("dynamodb").put_item(
        TableName="logger-app-patients",
        Item={"pk": {"S": f"patient#{patient_id}"}, "created_at": {"S": "2026-01-01T00:00:00Z"}},
    )
    return patient_id
