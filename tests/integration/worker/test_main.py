"""``logger-app worker`` as ECS runs it: the real process with its production defaults (20 s long
polls, 5 s retry delay, the queue's own receive limit), against moto's server over HTTP.

moto implements long polling for real (a ReceiveMessage waits up to WaitTimeSeconds for a
message), and it also serves a poll whose client has gone: the message it then takes stays
invisible for the visibility timeout and counts a receive, as on AWS.
"""

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import boto3
import pytest

from harness.processes import BIN
from logger_app.events import Event
from logger_app.settings import Settings

DEFAULTS = Settings()
# No collector here; what these tests check is the worker, not its telemetry.
QUIET = {"OTEL_SDK_DISABLED": "true"}
# "Within a few seconds of being sent": an event taken by an abandoned poll would come back only
# after the visibility timeout (30 s).
PROMPTLY_SECONDS = 3.0


class WorkerProcess:
    """``logger-app worker`` with its output in a file, read back as JSON lines."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        environment = {
            name: value for name, value in os.environ.items() if not name.startswith("LOGGER_APP_")
        }
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [str(BIN / "logger-app"), "worker"],
                env={**environment, **QUIET},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        assert self.wait_for(lambda: bool(self.events("worker.started")), timeout=60)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.output().splitlines() if line.startswith("{")]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["event"] == name]

    def wait_for(self, found: Callable[[], bool], timeout: float) -> bool:
        """Poll ``found`` until true (True) or the timeout (False); fail if the worker exits."""
        deadline = time.monotonic() + timeout
        while not found():
            if time.monotonic() > deadline:
                return False
            assert self.running, "the worker exited:\n" + self.output()[-3000:]
            time.sleep(0.1)
        return True

    def stop(self) -> int | None:
        """SIGTERM, as ECS stops a task: the worker finishes its long poll, then exits. Returns
        its exit status (None if it had to be killed)."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.terminate()
        try:
            return process.wait(timeout=DEFAULTS.worker_wait_seconds + 10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
            return None


@pytest.fixture
def worker(aws: str, tmp_path: Path) -> Iterator[WorkerProcess]:
    process = WorkerProcess(tmp_path / "worker.log")
    try:
        yield process
    finally:
        process.stop()


def send(queue_url: str, event: Event) -> None:
    """As the API's publisher sends it: the body and attributes of ``events.Event``."""
    boto3.client("sqs").send_message(
        QueueUrl=queue_url, MessageBody=event.body(), MessageAttributes=event.message_attributes()
    )


def send_raw(queue_url: str, body: str, event_type: str) -> None:
    boto3.client("sqs").send_message(
        QueueUrl=queue_url,
        MessageBody=body,
        MessageAttributes={"event_type": {"DataType": "String", "StringValue": event_type}},
    )


def dead_letter_queue() -> str:
    sqs = boto3.client("sqs")
    return sqs.get_queue_url(QueueName=DEFAULTS.dead_letter_queue_name)["QueueUrl"]


def dead_lettered() -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=dead_letter_queue(),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(count) for count in attributes.values())


def dead_letter_bodies() -> list[str]:
    sqs, url, bodies = boto3.client("sqs"), dead_letter_queue(), list[str]()
    while messages := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60
    ).get("Messages", []):
        bodies.extend(message["Body"] for message in messages)
    return bodies


def new_patient() -> str:
    """A signed-up patient, as the API stores one (the sign-up event's effect needs it)."""
    patient_id = str(uuid.uuid4())
    boto3.client("dynamodb").put_item(
        TableName=DEFAULTS.patients_table, Item={"pk": {"S": "patient#" + patient_id}}
    )
    return patient_id


def welcomed(patient_id: str) -> bool:
    item = boto3.client("dynamodb").get_item(
        TableName=DEFAULTS.patients_table, Key={"pk": {"S": "patient#" + patient_id}}
    )["Item"]
    return "welcomed_at" in item


def test_an_idle_worker_loses_no_event_to_its_long_polls(aws: str, worker: WorkerProcess) -> None:
    """Idle through a full long poll, then events further apart than a poll: each is processed
    at once, on its first receive; nothing is dead-lettered and no poll fails."""
    interval = DEFAULTS.worker_wait_seconds + 1
    worker.start()
    time.sleep(interval)

    delays: dict[str, float | None] = {}
    for _ in range(3):
        patient_id = new_patient()
        send(aws, Event("patient.signed_up", {"patient_id": patient_id}, trace_context={}))
        sent = time.monotonic()
        done = worker.wait_for(partial(welcomed, patient_id), timeout=PROMPTLY_SECONDS)
        delays[patient_id] = round(time.monotonic() - sent, 2) if done else None
        time.sleep(max(0.0, sent + interval - time.monotonic()))

    assert all(delay is not None for delay in delays.values()), (
        f"seconds from send to welcomed (None: not within {PROMPTLY_SECONDS} s): {delays}"
    )
    processed = worker.events("worker.processed")
    assert len(processed) == len(delays)  # each once
    assert {line["receives"] for line in processed} == {1}  # no receive that nobody saw
    assert worker.events("worker.poll_failed") == []
    assert not [line for line in worker.lines() if "ReadTimeout" in json.dumps(line)]
    assert dead_lettered() == 0
    assert worker.stop() == 0


# Each is one kind of message that can never be handled; the worker must survive them all and
# still handle the valid event received in the same batch.
EMAIL = "ada.lovelace@example.com"
POISON = {
    "nested 5,000 deep": ("[" * 5_000 + "]" * 5_000, "patient.signed_up"),
    "not JSON": ("{'id': 'e-1', 'email': '" + EMAIL, "patient.signed_up"),
    "a field missing": (
        json.dumps({"type": "patient.signed_up", "occurred_at": "now", "data": {"email": EMAIL}}),
        "patient.signed_up",
    ),
    "an unknown type": (
        json.dumps({"id": "e-3", "type": "patient.exploded", "occurred_at": "now", "data": {}}),
        "patient.exploded",
    ),
    "a data field missing": (
        json.dumps({"id": "e-4", "type": "record.created", "occurred_at": "now", "data": {}}),
        "record.created",
    ),
    "an unknown record kind": (
        Event(
            "record.created",
            {"id": "r-1", "patient_id": "p-1", "doctor_id": "dr-who", "kind": "pk"},
            trace_context={},
        ).body(),
        "record.created",
    ),
    "its patient missing": (
        Event("patient.signed_up", {"patient_id": str(uuid.uuid4())}, trace_context={}).body(),
        "patient.signed_up",
    ),
}


def test_poison_messages_cost_no_other_event_and_never_stop_the_worker(
    aws: str, worker: WorkerProcess
) -> None:
    """A batch of every kind of poison message, the valid event last: the valid one is
    processed; each poison message fails alone (ERROR, without its body), its last receive is
    reported as dead-lettered, and SQS moves it to the dead-letter queue."""
    for body, event_type in POISON.values():
        send_raw(aws, body, event_type)
    valid = Event("patient.signed_up", {"patient_id": new_patient()}, trace_context={})
    send(aws, valid)
    limit = DEFAULTS.max_receive_count

    worker.start()  # its first receive takes the whole batch

    assert worker.wait_for(lambda: welcomed(valid.data["patient_id"]), timeout=10), worker.output()[
        -3000:
    ]
    # Each poison message comes back after the retry delay, `limit` receives in all; the one
    # after the last makes SQS move it.
    moved = worker.wait_for(
        lambda: dead_lettered() == len(POISON),
        timeout=limit * DEFAULTS.worker_retry_delay_seconds + 15,
    )
    assert moved, worker.output()[-3000:]

    assert sorted(dead_letter_bodies()) == sorted(body for body, _ in POISON.values())
    failures = worker.events("worker.failed")
    assert len(failures) == len(POISON) * limit
    assert {line["level"] for line in failures} == {"ERROR"}
    assert {line["error"] for line in failures} == {"MalformedEventError", "PoisonEventError"}
    last = [line for line in failures if line["receives"] == limit]
    assert len(last) == len(POISON)
    assert {line["message"] for line in last} == {
        "event failed; the queue moves it to the dead-letter queue"
    }
    assert [line["event_id"] for line in worker.events("worker.processed")] == [valid.id]
    output = worker.output()
    assert "Traceback" not in output
    assert EMAIL not in output
    assert "[[[" not in output
    assert worker.running
    assert worker.stop() == 0
