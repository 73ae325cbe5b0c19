"""The batch publisher, in-process against moto over real HTTP: batches of at most ten, one
SendMessageBatch per batch, removals 25 to a BatchWriteItem, a refused entry kept for the
drain, and a write that does not wait for SQS."""

import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from logger_app.events import Event
from tests.faults import FaultProxy
from tests.integration.conftest import AppFactory, Counters, Logs, existing_patient, settle

CALLS = "logger_app.aws.call.duration"
SEND_BATCH = {"service": "SQS", "operation": "SendMessageBatch", "outcome": "ok"}
REMOVE_BATCH = {"service": "DynamoDB", "operation": "BatchWriteItem", "outcome": "ok"}
# Long enough that a test's few requests always share one batch.
LINGER_MS = 1_000


def pending(client: TestClient) -> list[str]:
    """The ids of the events still listed in the outbox."""
    table = client.app.state.services.settings.outbox_table  # type: ignore[attr-defined]
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    listed = [item for item in items if item["pk"]["S"].startswith("pending#")]
    return [item["sk"]["S"].split("#")[1] for item in listed]


def drain_queue(receive: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while batch := receive():
        messages += batch
    return messages


def record() -> dict[str, str]:
    return {"patient_id": existing_patient(), "doctor_id": "dr-batch", "kind": "message"}


def test_committed_events_leave_ten_to_a_call(
    make_client: AppFactory,
    counters: Counters,
    spans: InMemorySpanExporter,
    queue: Callable[[], list[dict[str, Any]]],
) -> None:
    client = make_client(publish_linger_ms=LINGER_MS)
    services = client.app.state.services  # type: ignore[attr-defined]
    events = [Event("record.created", {"id": str(uuid.uuid4())}) for _ in range(23)]
    boto3.client("dynamodb").transact_write_items(
        TransactItems=[services.outbox.put(event) for event in events]  # committed together
    )
    calls = counters.value(CALLS, **SEND_BATCH), counters.value(CALLS, **REMOVE_BATCH)

    def submit_all() -> None:  # in one turn of the event loop, as 23 requests at once
        for event in events:
            services.publisher.submit(event)

    client.portal.call(_run, submit_all)
    settle(client)

    # Two full batches went at once; the last three waited for the linger (here: the flush).
    batch_sizes = sorted(
        s.attributes["messaging.batch.message_count"]
        for s in spans.get_finished_spans()
        if s.name == "send logger-app-events"
    )
    assert batch_sizes == [3] * 3 + [10] * 20
    assert counters.value(CALLS, **SEND_BATCH) == calls[0] + 3
    # Removed up to 25 to a call, apart from the sends: what was published while a removal
    # was in flight goes together.
    assert 1 <= counters.value(CALLS, **REMOVE_BATCH) - calls[1] <= 3
    delivered = [message["body"]["id"] for message in drain_queue(queue)]
    assert sorted(delivered) == sorted(event.id for event in events)
    assert pending(client) == []


async def _run(function: Callable[[], None]) -> None:
    function()


def test_a_refused_entry_stays_for_the_drain_and_the_others_are_removed(
    faults: FaultProxy,
    make_client: AppFactory,
    counters: Counters,
    logs: Logs,
    queue: Callable[[], list[dict[str, Any]]],
) -> None:
    client = make_client(publish_linger_ms=LINGER_MS)
    refusal = faults.inject("AmazonSQS.SendMessageBatch", "refuse_first_entry", times=1)
    before = counters.value("logger_app.queue_publishes", event="record.created", outcome="failed")

    ids = [client.post("/v1/records", json=record()).json()["id"] for _ in range(3)]
    settle(client)

    assert refusal.hits == 1
    received = [message["body"]["data"]["id"] for message in drain_queue(queue)]
    assert sorted(received) == sorted(ids[1:])
    [refused_event] = pending(client)  # the others were removed from the outbox
    [line] = [line for line in logs() if line["event"] == "event.publish_failed"]
    assert (line["level"], line["error"], line["event_id"]) == (
        "WARNING",
        "InternalError",
        refused_event,
    )
    failed = counters.value("logger_app.queue_publishes", event="record.created", outcome="failed")
    assert failed == before + 1

    publisher = client.app.state.services.publisher  # type: ignore[attr-defined]
    assert client.portal.call(publisher.drain) == 1  # retried by the drain
    [late] = drain_queue(queue)
    assert late["body"]["id"] == refused_event
    assert late["body"]["data"]["id"] == ids[0]
    assert pending(client) == []


def test_a_write_answers_at_its_commit_without_waiting_for_sqs(
    faults: FaultProxy, make_client: AppFactory, queue: Callable[[], list[dict[str, Any]]]
) -> None:
    client = make_client()
    faults.inject("AmazonSQS.SendMessageBatch", "slow", delay=3)

    started = time.monotonic()
    response = client.post("/v1/records", json=record())
    answered = time.monotonic() - started
    settle(client)

    assert response.status_code == 201
    assert answered < 2  # SQS takes 3 s to answer here
    [message] = drain_queue(queue)
    assert message["body"]["data"]["id"] == response.json()["id"]


def test_events_published_within_a_second_leave_the_outbox_in_one_call(
    make_client: AppFactory, counters: Counters, queue: Callable[[], list[dict[str, Any]]]
) -> None:
    # Default settings: each event is sent alone (10 ms linger), and their removals wait for
    # each other. A call less per two or three writes at tens of writes a second (issue #28).
    client = make_client()
    removals = counters.value(CALLS, **REMOVE_BATCH)

    records = [record() for _ in range(3)]  # their patients are stored before the clock starts
    ids = []
    for payload in records:
        ids.append(client.post("/v1/records", json=payload).json()["id"])
        time.sleep(0.2)
    deadline = time.monotonic() + 5
    while pending(client) and time.monotonic() < deadline:
        time.sleep(0.05)

    assert pending(client) == []
    assert counters.value(CALLS, **REMOVE_BATCH) - removals == 1
    received = [message["body"]["data"]["id"] for message in drain_queue(queue)]
    assert sorted(received) == sorted(ids)


def test_the_backlog_gauges_are_registered_by_the_app_not_at_import() -> None:
    # A process that only imports the publisher (the worker, a CLI command) reports no backlog.
    code = (
        "from opentelemetry import metrics\n"
        "from opentelemetry.sdk.metrics import MeterProvider\n"
        "from opentelemetry.sdk.metrics.export import InMemoryMetricReader\n"
        "reader = InMemoryMetricReader()\n"
        "metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))\n"
        "import logger_app.outbox, logger_app.publisher\n"
        "data = reader.get_metrics_data()\n"
        "print(sorted(m.name for r in data.resource_metrics for s in r.scope_metrics"
        " for m in s.metrics))\n"
    )
    names = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "logger_app.telemetry.heartbeat" in names  # what is registered at import is read
    assert "logger_app.outbox" not in names
