"""The service as a real process: graceful shutdown, and no event lost across a crash."""

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlsplit

import boto3

from logger_app.settings import Settings
from logger_app.worker import Worker
from tests.faults import FaultProxy
from tests.support import BIN, app_process, auth_headers, free_port

# No collector in these tests; what they check is the service, not its telemetry. The outbox
# settings are the production defaults (a drain every 5 s, of entries older than 10 s).
QUIET = {"OTEL_SDK_DISABLED": "true"}


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **auth_headers()},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def patient() -> dict[str, str]:
    return {"email": f"p{uuid.uuid4().hex[:10]}@example.com", "full_name": "Test Patient"}


def _refuses_connections(url: str) -> bool:
    host, port = urlsplit(url).hostname, urlsplit(url).port
    try:
        socket.create_connection((host, port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_sigterm_refuses_new_connections_finishes_in_flight_then_exits_0(
    faults: FaultProxy,
) -> None:
    with app_process({**QUIET, "AWS_ENDPOINT_URL": faults.url}) as (process, url):
        slow = faults.inject("DynamoDB_20120810.TransactWriteItems", "slow", delay=3)
        results: list[int] = []
        in_flight = threading.Thread(
            target=lambda: results.append(post(url + "/v1/signups", patient())[0])
        )
        in_flight.start()
        while slow.hits == 0:  # the request is inside its DynamoDB call
            time.sleep(0.02)

        process.send_signal(signal.SIGTERM)

        deadline = time.monotonic() + 1
        while not _refuses_connections(url):
            assert time.monotonic() < deadline, "still accepting connections after SIGTERM"
            time.sleep(0.05)
        assert in_flight.is_alive()  # refused while that request is still being answered
        in_flight.join(timeout=20)
        assert results == [201]
        assert process.wait(timeout=30) == 0
        log = process.stdout.read().decode() if process.stdout else ""
        assert "Finished server process" in log or "Shutting down" in log


def test_bad_settings_stop_the_process_naming_the_variable() -> None:
    result = subprocess.run(
        [str(BIN / "logger-app"), "serve", "--port", str(free_port())],
        env={**os.environ, **QUIET, "LOGGER_APP_MAX_BODY_BYTES": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "LOGGER_APP_MAX_BODY_BYTES: Input should be greater than 0" in result.stderr
    assert "Traceback" not in result.stderr


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
    with app_process(environment):  # drains the outbox once entries are 10 s old
        worker = Worker(
            Settings(worker_wait_seconds=1, worker_retry_delay_seconds=0), queue_url=aws
        )
        consumed = 0
        deadline = time.monotonic() + 10 + 5 + 10  # min age + drain interval + slack
        while consumed < sign_ups and time.monotonic() < deadline:
            consumed += worker.poll_once()
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
