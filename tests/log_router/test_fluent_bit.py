"""fluent-bit.conf in the real Fluent Bit, behind the FireLens stand-in, fed the real app's
stdout over the forward protocol; what reaches Loki's push API and CloudWatch Logs is checked.

Loki itself is not run (see loki_receiver.py): its push API is received here, as documented.
"""

import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from harness.builds import REPO
from tests.e2e.processes import poll
from tests.log_router.conftest import logs_client
from tests.log_router.loki_receiver import LokiReceiver, PushedEntry
from tests.log_router.router import ECS_METADATA, TASK_ID, CloudWatchTarget, LogRouter

LABELS = {"service", "environment", "level"}
STRUCTURED_METADATA = {
    "ecs_task_arn": ECS_METADATA["ECS_TASK_ARN"],
    "ecs_task_definition": ECS_METADATA["ECS_TASK_DEFINITION"],
    "container_name": "app",
}
# What FireLens and its metadata filter add around a line; none of it may stay in Loki's line.
FIRELENS_KEYS = {"container_id", "container_name", "source", "log", *map(str.lower, ECS_METADATA)}
CRASH = "Traceback (most recent call last):"

# The outage tests wait out Fluent Bit's retry backoff (scheduler.cap is 60 s).
pytestmark = pytest.mark.timeout(600)


def _arrived(loki: LokiReceiver, count: int, timeout: float = 30) -> list[PushedEntry]:
    entries = poll(loki.snapshot, until=lambda got: len(got) >= count, timeout=timeout)
    assert len(entries) >= count, f"{len(entries)} of {count} arrived"
    return entries


def _numbered(count: int, prefix: str) -> list[str]:
    """App-shaped JSON lines, each with its own message so arrivals can be counted."""
    return [
        json.dumps(
            {
                "time": datetime.now().astimezone().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "level": "INFO",
                "logger": "logger_app.test",
                "message": f"{prefix} {number}",
                "event": "test.numbered",
                "service": "logger-app",
                "environment": "prod",
                "trace_id": "",
                "span_id": "",
            }
        )
        for number in range(count)
    ]


def _messages(entries: list[PushedEntry]) -> Counter[str]:
    return Counter(entry.record["message"] for entry in entries)


def test_dry_run_accepts_the_configs(make_router: Callable[..., LogRouter]) -> None:
    status, output = make_router().dry_run()
    assert status == 0, output
    assert "configuration test is successful" in output


def test_dry_run_rejects_an_unknown_option(make_router: Callable[..., LogRouter]) -> None:
    router = make_router()
    config = router.path("/extra.conf")
    config.write_text(config.read_text().replace("Line_Format", "Line_Formats"))
    status, output = router.dry_run()
    assert status != 0
    assert "unknown configuration property" in output


def test_every_app_line_reaches_loki_once_with_bounded_labels(
    router: LogRouter, loki: LokiReceiver, app_lines: list[str]
) -> None:
    router.send(app_lines)
    entries = _arrived(loki, len(app_lines))
    time.sleep(2)  # nothing more may follow
    assert len(loki.snapshot()) == len(app_lines)
    for entry in entries:
        assert set(entry.labels) == LABELS, entry.labels
        assert entry.labels["service"] == "logger-app"
        assert entry.labels["environment"] == "prod"


def test_the_line_is_the_app_json_and_its_level_is_the_label(
    router: LogRouter, loki: LokiReceiver, app_lines: list[str]
) -> None:
    router.send(app_lines)
    entries = _arrived(loki, len(app_lines))
    by_time_and_message = {(e.record["time"], e.record["message"]): e for e in entries}
    for line in app_lines:
        written = json.loads(line)
        entry = by_time_and_message[(written["time"], written["message"])]
        level = written.pop("level")
        assert entry.labels["level"] == level
        assert entry.record == written
        assert not FIRELENS_KEYS & set(entry.record)
        logged = datetime.fromisoformat(written["time"].replace("Z", "+00:00"))
        # The app's microseconds; Fluent Bit's parser goes through a double (±1 ns).
        assert abs(entry.timestamp_ns - round(logged.timestamp() * 1_000_000) * 1000) < 1000


def test_request_lines_carry_trace_context(
    router: LogRouter, loki: LokiReceiver, app_lines: list[str]
) -> None:
    router.send(app_lines)
    entries = _arrived(loki, len(app_lines))
    requests = [e.record for e in entries if e.record.get("event") == "http.request"]
    assert len(requests) >= 5
    for record in requests:
        assert len(record["trace_id"]) == 32
        assert len(record["span_id"]) == 16


def test_task_identity_is_structured_metadata(
    router: LogRouter, loki: LokiReceiver, app_lines: list[str]
) -> None:
    router.send(app_lines[:3])
    for entry in _arrived(loki, 3):
        assert entry.structured_metadata == STRUCTURED_METADATA


def test_a_line_that_is_not_json_arrives_unchanged(router: LogRouter, loki: LokiReceiver) -> None:
    router.send([CRASH], source="stderr")
    [entry] = _arrived(loki, 1)
    assert entry.line == CRASH
    assert entry.labels == {"service": "logger-app", "environment": "prod"}
    assert entry.structured_metadata == STRUCTURED_METADATA


def test_health_check_records_go_nowhere(router: LogRouter, loki: LokiReceiver) -> None:
    router.send_health_check()
    router.send(_numbered(1, "after the health check"))
    [entry] = _arrived(loki, 1)
    time.sleep(2)
    assert loki.snapshot() == [entry]


def test_other_containers_of_the_task_are_shipped_under_their_own_name(
    router: LogRouter, loki: LokiReceiver
) -> None:
    router.send(_numbered(1, "from the worker"), container="worker")
    [entry] = _arrived(loki, 1)
    assert entry.structured_metadata["container_name"] == "worker"


def test_the_compose_router_ships_the_compose_apps_lines(
    fluent_bit: Path, loki: LokiReceiver, tmp_path: Path
) -> None:
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    environment = {
        **services["fluent-bit"]["environment"],
        "PATH": "/usr/bin:/bin",
        "LOKI_HOST": "127.0.0.1",
        "LOKI_PORT": str(loki.port),
        "FORWARD_LISTEN": "127.0.0.1",
    }
    router = LogRouter(fluent_bit, tmp_path, environment)
    router.start()
    try:
        for service in ("app", "worker"):
            tag = services[service]["logging"]["options"]["tag"]
            router.send(_numbered(1, service), container=service, tag=tag)
        entries = _arrived(loki, 2)
    finally:
        router.stop()
    assert {e.record["message"] for e in entries} == {"app 0", "worker 0"}
    for entry in entries:
        assert entry.labels == {"service": "logger-app", "environment": "local", "level": "INFO"}


def test_loki_down_for_30_seconds_loses_nothing_and_duplicates_nothing(
    router: LogRouter, loki: LokiReceiver
) -> None:
    loki.stop()
    before = _numbered(20, "during the outage")
    deadline = time.monotonic() + 30
    for index in range(0, len(before), 2):  # records keep flowing while Loki is down
        router.send(before[index : index + 2])
        time.sleep(max(0.0, min(1.5, deadline - time.monotonic())))
    while time.monotonic() < deadline:
        time.sleep(0.5)
    assert loki.snapshot() == []
    loki.start()
    after = _numbered(5, "after the outage")
    router.send(after)
    # Fluent Bit retries after a random wait of up to scheduler.cap (60 s) seconds.
    entries = _arrived(loki, len(before) + len(after), timeout=150)
    time.sleep(3)
    assert (
        _messages(loki.snapshot())
        == _messages(entries)
        == Counter(json.loads(line)["message"] for line in before + after)
    )


def test_the_buffer_survives_a_killed_router(
    make_router: Callable[..., LogRouter], loki: LokiReceiver
) -> None:
    router = make_router()
    router.start()
    loki.stop()
    lines = _numbered(30, "buffered")
    router.send(lines)
    # On disk once the emitter has taken them (filesystem chunks under storage.path).
    chunks = router.path("/fluent-bit/buffer")
    poll(lambda: list(chunks.rglob("*.flb")), until=bool, timeout=10)
    time.sleep(1)
    router.kill()
    loki.start()
    router.start()
    entries = _arrived(loki, len(lines), timeout=150)
    assert _messages(entries) == Counter(json.loads(line)["message"] for line in lines)


def test_every_record_is_copied_to_cloudwatch_logs(
    make_router: Callable[..., LogRouter],
    loki: LokiReceiver,
    cloudwatch: CloudWatchTarget,
    app_lines: list[str],
) -> None:
    router = make_router(cloudwatch)
    router.start()
    router.send([*app_lines, CRASH])
    _arrived(loki, len(app_lines) + 1)
    client = logs_client(cloudwatch)
    stream = f"app-firelens-{TASK_ID}"

    def events() -> list[dict[str, object]]:
        found = client.describe_log_streams(logGroupName=cloudwatch.log_group)["logStreams"]
        if stream not in {s["logStreamName"] for s in found}:
            return []
        return client.get_log_events(
            logGroupName=cloudwatch.log_group, logStreamName=stream, startFromHead=True
        )["events"]

    copied = poll(events, until=lambda got: len(got) >= len(app_lines) + 1, timeout=60)
    records = [json.loads(str(event["message"])) for event in copied]
    assert len(records) == len(app_lines) + 1
    for line, record in zip(app_lines, records, strict=False):
        written = json.loads(line)
        # The whole record: the app's keys with their values, and who wrote it.
        assert {k: record[k] for k in written} == written
        assert record["ecs_task_arn"] == ECS_METADATA["ECS_TASK_ARN"]
        assert record["container_name"] == "app"
    assert records[-1]["log"] == CRASH
