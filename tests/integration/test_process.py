"""The service as a real process: graceful shutdown, and no event lost across a crash."""

import json
import signal
import threading
import urllib.error
import urllib.request
import uuid
from typing import Any

import boto3
import pytest

from logger_app.settings import Settings
from logger_app.worker import Worker
from tests.faults import FaultProxy
from tests.support import app_process

QUIET = {
    # No collector in these tests; what they check is the service, not its telemetry.
    "OTEL_SDK_DISABLED": "true",
    "LOGGER_APP_OUTBOX_MIN_AGE_SECONDS": "0",
    "LOGGER_APP_OUTBOX_DRAIN_INTERVAL_SECONDS": "0.5",
}


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def patient() -> dict[str, str]:
    return {"email": f"p{uuid.uuid4().hex[:10]}@example.com", "full_name": "Test Patient"}


def test_sigterm_finishes_in_flight_requests_then_exits_0(faults: FaultProxy) -> None:
    with app_process({**QUIET, "AWS_ENDPOINT_URL": faults.url}) as (process, url):
        slow = faults.inject("DynamoDB_20120810.TransactWriteItems", "slow", delay=1.5)
        results: list[int] = []
        in_flight = threading.Thread(
            target=lambda: results.append(post(url + "/v1/signups", patient())[0])
        )
        in_flight.start()
        while slow.hits == 0:  # the request is inside its DynamoDB call
            threading.Event().wait(0.02)

        process.send_signal(signal.SIGTERM)

        in_flight.join(timeout=20)
        assert results == [201]
        assert process.wait(timeout=30) == 0
        with pytest.raises(urllib.error.URLError):  # no longer accepting
            urllib.request.urlopen(url + "/healthz", timeout=2)
        log = process.stdout.read().decode() if process.stdout else ""
        assert "Finished server process" in log or "Shutting down" in log


def test_no_event_is_lost_when_sqs_is_down_and_the_process_dies(
    faults: FaultProxy, aws: str
) -> None:
    sign_ups = 5
    environment = {**QUIET, "AWS_ENDPOINT_URL": faults.url}
    faults.inject("AmazonSQS.SendMessage", "throttle")

    with app_process(environment) as (process, url):
        patient_ids = [
            post(url + "/v1/signups", patient())[1]["patient_id"] for _ in range(sign_ups)
        ]
        process.kill()  # no shutdown drain: as if the task died
        process.wait(timeout=10)

    faults.clear()
    with app_process(environment):  # start-up drains the outbox
        worker = Worker(
            Settings(worker_wait_seconds=1, worker_retry_delay_seconds=0), queue_url=aws
        )
        consumed = 0
        for _ in range(20):
            consumed += worker.poll_once()
            if consumed >= sign_ups:
                break
        consumed += worker.poll_once()  # anything beyond N would show here

    assert consumed == sign_ups
    dynamodb = boto3.client("dynamodb")
    for patient_id in patient_ids:
        item = dynamodb.get_item(
            TableName="logger-app-patients", Key={"pk": {"S": "patient#" + patient_id}}
        )["Item"]
        assert "welcomed_at" in item
    outbox = dynamodb.scan(TableName="logger-app-outbox")["Items"]
    assert not [item for item in outbox if item["pk"]["S"].startswith("pending#")]
    assert len([item for item in outbox if item["pk"]["S"].startswith("processed#")]) == sign_ups
