"""The worker built from parts a test gives it: no AWS, no boto3, the calls it makes read back
from recording stand-ins (the worker against moto: tests/integration/worker/test_consumer.py)."""

import logging
from collections.abc import Mapping
from typing import Any

import anyio
import pytest

from logger_app import keys
from logger_app.aws import AwsClients
from logger_app.events import Event
from logger_app.outbox import Outbox
from logger_app.settings import Settings
from logger_app.worker.consumer import Worker
from logger_app.worker.queue import EventQueue
from tests.unit.worker.doubles import RecordingDynamodb, RecordingSqs

SETTINGS = Settings(worker_wait_seconds=0, worker_retry_delay_seconds=4, outbox_table="outbox")


def message(event: Event, receipt: str, receives: int = 1) -> dict[str, Any]:
    return {
        "MessageId": f"m-{receipt}",
        "ReceiptHandle": receipt,
        "Body": event.body(),
        "MessageAttributes": event.message_attributes(),
        "Attributes": {"ApproximateReceiveCount": str(receives)},
    }


def worker_of(sqs: RecordingSqs, dynamodb: RecordingDynamodb) -> Worker:
    def note(data: Mapping[str, str]) -> list[Any]:
        return [{"Put": {"TableName": "notes", "Item": {"pk": {"S": data["note"]}}}}]

    clients = AwsClients(dynamodb=dynamodb, sqs=sqs, limiter=anyio.CapacityLimiter(1))
    return Worker(
        EventQueue(sqs, sqs, SETTINGS, queue_url="https://sqs.example/events"),
        dynamodb,
        Outbox(clients, SETTINGS.outbox_table),
        {"note.taken": note},
        SETTINGS,
    )


def test_the_worker_applies_each_event_with_its_marker_through_the_parts_it_was_given() -> None:
    event = Event("note.taken", {"note": "n-1"}, trace_context={})
    sqs, dynamodb = RecordingSqs([message(event, "r-1")]), RecordingDynamodb()

    assert worker_of(sqs, dynamodb).poll_once() == 1

    [[marker, note]] = dynamodb.transactions
    assert marker["Put"]["TableName"] == "outbox"
    assert marker["Put"]["Item"]["pk"] == {"S": keys.processed(event.id)}
    assert note == {"Put": {"TableName": "notes", "Item": {"pk": {"S": "n-1"}}}}
    [receive] = sqs.called("receive_message")
    assert receive["QueueUrl"] == "https://sqs.example/events"
    assert receive["WaitTimeSeconds"] == 0
    assert sqs.called("delete_message") == [
        {"QueueUrl": "https://sqs.example/events", "ReceiptHandle": "r-1"}
    ]


def test_an_event_without_an_effect_goes_back_after_the_retry_delay_its_last_time_dead(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unknown = Event("note.lost", {}, trace_context={})
    sqs = RecordingSqs([message(unknown, "r-1"), message(unknown, "r-2", receives=3)], limit=3)
    dynamodb = RecordingDynamodb()

    with caplog.at_level(logging.INFO, logger="logger_app.worker"):
        assert worker_of(sqs, dynamodb).poll_once() == 2

    assert dynamodb.transactions == []
    assert sqs.called("delete_message") == []
    assert [call["ReceiptHandle"] for call in sqs.called("change_message_visibility")] == [
        "r-1",
        "r-2",
    ]
    assert {call["VisibilityTimeout"] for call in sqs.called("change_message_visibility")} == {4}
    failed = [r for r in caplog.records if getattr(r, "event", None) == "worker.failed"]
    assert [(r.name, r.getMessage(), getattr(r, "reason", None)) for r in failed] == [
        ("logger_app.worker", "event failed", "unknown event type"),
        (
            "logger_app.worker",
            "event failed; the queue moves it to the dead-letter queue",
            "unknown event type",
        ),
    ]
