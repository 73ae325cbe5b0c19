"""The service as a real process: graceful shutdown, and no event lost across a crash."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from harness.emulator import AWS_TEST_ENV
from harness.issuer import ISSUER_ENV, auth_headers
from harness.processes import BIN, free_port
from logger_app.settings import Settings
from logger_app.worker.main import build_worker
from tests.faults import FaultProxy
from tests.integration.conftest import existing_patient
from tests.support import app_process

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


def test_the_served_api_speaks_plain_http_only_a_websocket_upgrade_is_answered_as_http(
    aws: str,
) -> None:
    with app_process(QUIET) as (_, url):
        address = urlsplit(url)
        with socket.create_connection((address.hostname, address.port), timeout=10) as peer:
            peer.sendall(
                b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
                b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            )
            status_line = peer.recv(4096).split(b"\r\n", 1)[0]

    assert status_line == b"HTTP/1.1 200 OK"  # not a WebSocket handshake, nor its refusal


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


def _without_aws(tmp_path: Path, **environment: str) -> dict[str, str]:
    """No region and no credentials from anywhere (variables, files), but these; the SDK on, its
    exports to a port where nothing listens."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOGGER_APP_"))}
    return {
        **kept,
        **ISSUER_ENV,
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}",
        **environment,
    }


REGION = "LOGGER_APP_REGION or AWS_REGION or AWS_DEFAULT_REGION"
MISSING = {
    "region": ({}, f"logger-app: no AWS region: set {REGION} (e.g. us-east-1)"),
    "credentials": (
        {"AWS_REGION": "eu-west-1"},
        "logger-app: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
        "AWS_PROFILE",
    ),
}


@pytest.mark.parametrize("missing", MISSING)
@pytest.mark.parametrize("command", [["worker"], ["serve", "--port", "0"], ["bootstrap"]], ids=str)
def test_without_a_region_or_credentials_a_command_stops_with_one_line_saying_so(
    tmp_path: Path, command: list[str], missing: str
) -> None:
    environment, expected = MISSING[missing]
    try:
        result = subprocess.run(
            [str(BIN / "logger-app"), *command],
            env=_without_aws(tmp_path, **environment),
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired as still_running:
        output = (still_running.stdout or b"")[-2000:]
        pytest.fail(f"logger-app {command[0]} was still running after 30 s: {output!r}")

    assert result.returncode != 0
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(expected)
    assert "unreachable" not in line


# A setting that does not parse, and settings the API refuses (no token issuer).
INVALID = {"settings": {"LOGGER_APP_LOG_LEVEL": "LOUD"}, "app configuration": {}}


# The worker needs no issuer.
@pytest.mark.parametrize(
    ("command", "invalid"),
    [
        (["worker"], "settings"),
        (["serve", "--port", "0"], "settings"),
        (["serve", "--port", "0"], "app configuration"),
    ],
    ids=str,
)
def test_a_configuration_error_exits_at_once_with_its_message_alone(
    tmp_path: Path, command: list[str], invalid: str
) -> None:
    """With the SDK on and no collector listening: no flush at exit, so no exporter retries
    before or after the message."""
    environment = {**_without_aws(tmp_path, **AWS_TEST_ENV), **INVALID[invalid]}
    if invalid == "app configuration":
        del environment["LOGGER_APP_LOCAL_ISSUER_DIR"]
    process = subprocess.Popen(
        [str(BIN / "logger-app"), *command],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[tuple[float, str]] = []
    assert process.stderr is not None
    for line in process.stderr:
        lines.append((time.monotonic(), line.rstrip("\n")))
    process.wait(timeout=30)
    ended = time.monotonic()

    assert process.returncode == 1
    assert lines, "nothing on stderr"
    assert lines[0][1] == "logger-app: invalid configuration:", lines
    assert all(line.startswith("  LOGGER_APP_") for _, line in lines[1:]), lines
    # Once the message is out the process is gone (the worker's SDK flush took 7 s more; the
    # API's, bounded, came before the message, and its retries with it). The start-up before
    # the message is the interpreter's and the imports', seconds on a loaded runner.
    assert ended - lines[0][0] <= 0.5, f"exited {ended - lines[0][0]:.1f}s after the message"


def pending_events() -> list[dict[str, Any]]:
    outbox = boto3.client("dynamodb").scan(TableName="logger-app-outbox")["Items"]
    return [item for item in outbox if item["pk"]["S"].startswith("pending#")]


def consume(queue_url: str, expected: int, seconds: float) -> int:
    """Everything a worker receives within the time, and one more poll for any extra."""
    worker = build_worker(
        Settings(worker_wait_seconds=1, worker_retry_delay_seconds=0), queue_url=queue_url
    )
    consumed, deadline = 0, time.monotonic() + seconds
    while consumed < expected and time.monotonic() < deadline:
        consumed += worker.poll_once()
    return consumed + worker.poll_once()


def welcomed(patient_ids: list[str]) -> bool:
    dynamodb = boto3.client("dynamodb")
    return all(
        "welcomed_at"
        in dynamodb.get_item(
            TableName="logger-app-patients", Key={"pk": {"S": "patient#" + patient_id}}
        )["Item"]
        for patient_id in patient_ids
    )


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
        consumed = consume(aws, sign_ups, seconds=10 + 5 + 10)  # min age + interval + slack

    assert consumed == sign_ups
    assert welcomed(patient_ids)
    assert pending_events() == []
    outbox = boto3.client("dynamodb").scan(TableName="logger-app-outbox")["Items"]
    assert len([item for item in outbox if item["pk"]["S"].startswith("processed#")]) == sign_ups


# Batches wait a whole second here, so that each test's requests are answered while their
# events are still waiting in the process.
LINGERING = {"LOGGER_APP_PUBLISH_LINGER_MS": "1000"}


def test_sqs_down_for_a_burst_of_writes_then_back_publishes_each_event_once(
    faults: FaultProxy, aws: str
) -> None:
    sign_ups = 20
    environment = {
        **QUIET,
        "AWS_ENDPOINT_URL": faults.url,
        "LOGGER_APP_OUTBOX_DRAIN_INTERVAL_SECONDS": "1",
    }
    outage = faults.inject("AmazonSQS.SendMessageBatch", "throttle")

    with app_process(environment) as (_, url):
        with ThreadPoolExecutor(max_workers=8) as requests:
            answers = list(
                requests.map(lambda _: post(url + "/v1/signups", patient()), range(sign_ups))
            )
        patient_ids = [body["patient_id"] for status, body in answers if status == 201]
        assert len(patient_ids) == sign_ups  # every write answered while SQS was down
        deadline = time.monotonic() + 10
        while outage.hits < 2 and time.monotonic() < deadline:  # the batches were refused
            time.sleep(0.05)
        assert outage.hits >= 2
        faults.clear()
        # The drain takes over once the events are 10 s old (the production minimum age).
        consumed = consume(aws, sign_ups, seconds=10 + 1 + 10)

    assert consumed == sign_ups  # each once: no event lost, none sent twice
    assert welcomed(patient_ids)
    assert pending_events() == []


def test_events_waiting_for_their_batch_when_the_process_dies_are_published_at_restart(
    faults: FaultProxy, aws: str
) -> None:
    environment = {**QUIET, "AWS_ENDPOINT_URL": faults.url}
    sends = faults.inject("AmazonSQS.SendMessageBatch", "slow", delay=0)  # only counts

    with app_process({**environment, **LINGERING}) as (process, url):
        patient_ids = [post(url + "/v1/signups", patient())[1]["patient_id"] for _ in range(3)]
        process.kill()  # committed, answered, and still waiting for their batch
        process.wait(timeout=10)

    assert sends.hits == 0
    assert len(pending_events()) == 3
    with app_process({**environment, "LOGGER_APP_OUTBOX_MIN_AGE_SECONDS": "0"}):
        consumed = consume(aws, 3, seconds=15)  # published by the start-up drain

    assert consumed == 3
    assert welcomed(patient_ids)
    assert pending_events() == []


def test_sigterm_sends_the_batch_still_waiting_before_the_process_exits(
    faults: FaultProxy, aws: str
) -> None:
    sends = faults.inject("AmazonSQS.SendMessageBatch", "slow", delay=0)  # only counts

    with app_process({**QUIET, "AWS_ENDPOINT_URL": faults.url, **LINGERING}) as (process, url):
        patient_id = post(url + "/v1/signups", patient())[1]["patient_id"]
        assert sends.hits == 0  # its event is waiting for the batch
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        log = process.stdout.read().decode() if process.stdout else ""

    assert sends.hits == 1
    [message] = boto3.client("sqs").receive_message(QueueUrl=aws)["Messages"]
    assert patient_id in message["Body"]
    assert pending_events() == []
    assert "outbox.published" not in log  # sent by the batch, not by the shutdown drain


def test_a_writes_audit_record_survives_the_process_dying_right_after_its_commit(
    faults: FaultProxy, aws: str
) -> None:
    """Killed between its commits and their answers, the process writes no audit line; the
    audit record of each write is stored with what it wrote, in the same transaction."""
    record = {"patient_id": existing_patient(), "doctor_id": "dr-audit", "kind": "note"}
    traced = {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"}
    dynamodb = boto3.client("dynamodb")

    def stored() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        patients = dynamodb.scan(TableName="logger-app-patients")["Items"]
        signed_up = [item for item in patients if "email" in item]
        return signed_up, dynamodb.scan(TableName="logger-app-records")["Items"]

    with app_process({**traced, "AWS_ENDPOINT_URL": faults.url}) as (process, url):
        # Each write is applied at once; its answer would come a minute later.
        faults.inject("DynamoDB_20120810.TransactWriteItems", "late_answer", delay=60)
        writes = [
            threading.Thread(target=_ignoring_errors(post, url + path, body), daemon=True)
            for path, body in [("/v1/signups", patient()), ("/v1/records", record)]
        ]
        for write in writes:
            write.start()
        deadline = time.monotonic() + 10
        while not all(stored()):
            assert time.monotonic() < deadline, "the writes were not applied"
            time.sleep(0.05)
        process.kill()  # committed, and neither answered nor audited in the log
        process.wait(timeout=10)
        output = process.stdout.read().decode() if process.stdout else ""

    assert '"event": "audit"' not in output
    ([patient_item], [record_item]) = stored()
    for item, action in [(patient_item, "patient.sign_up"), (record_item, "record.create")]:
        audit = {name: value["S"] for name, value in item["audit"]["M"].items()}
        assert audit["action"] == action
        assert audit["client_id"] == "logger-app-local"
        uuid.UUID(audit["request_id"])  # the transaction's ClientRequestToken
        assert len(audit["trace_id"]) == 32
        assert audit["at"].endswith("Z")


def _ignoring_errors(function: Callable[..., object], *args: object) -> Callable[[], None]:
    def call() -> None:
        with contextlib.suppress(OSError):  # the process died under the request
            function(*args)

    return call
