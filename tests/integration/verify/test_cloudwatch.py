"""The CloudWatch sink against moto's CloudWatch Logs (PutLogEvents, FilterLogEvents) over
real HTTP, holding lines as FireLens's cloudwatch_logs output writes them."""

import json
import time
from typing import Any

import pytest

from harness.emulator import reset_moto
from logger_app.verify.cloudwatch import CloudWatchSink
from logger_app.verify.sinks import Journey
from tests.integration.verify.aws_doubles import REGION, client, new_trace_id, refusing_endpoint

API_GROUP = "logger-app-DurableLogs"
WORKER_GROUP = "logger-app-worker-DurableLogs"


@pytest.fixture
def logs(aws_endpoint: str) -> Any:
    reset_moto(aws_endpoint)
    logs = client("logs", aws_endpoint)
    for group in (API_GROUP, WORKER_GROUP):
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="app-firelens-task1")
    return logs


def journey(*trace_ids: str) -> Journey:
    return Journey(trace_ids, "patient-1", "record-1", time.time())


def write(logs: Any, group: str, service: str, event: str, trace_id: str) -> None:
    """One app line as the router copies it: the app's JSON fields, then the task metadata."""
    line = {
        "time": "2026-12-02T13:00:00.000000Z",
        "level": "INFO",
        "logger": "logger_app",
        "message": event,
        "event": event,
        "service": service,
        "environment": "prod",
        "trace_id": trace_id,
        "span_id": "0123456789abcdef",
        "container_name": "app",
        "ecs_task_arn": "arn:aws:ecs:us-east-1:123456789012:task/cluster/task1",
    }
    logs.put_log_events(
        logGroupName=group,
        logStreamName="app-firelens-task1",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": json.dumps(line)}],
    )


def arrive(logs: Any, trace_id: str, worker_group: str = WORKER_GROUP) -> None:
    write(logs, API_GROUP, "logger-app", "request.completed", trace_id)
    write(logs, worker_group, "logger-app-worker", "worker.processed", trace_id)


def sink(logs: Any, worker_group: str | None = WORKER_GROUP) -> CloudWatchSink:
    return CloudWatchSink(
        region=REGION, log_group=API_GROUP, worker_log_group=worker_group, client=logs
    )


def test_arrived_once_the_api_and_the_worker_lines_of_every_trace_are_in(logs: Any) -> None:
    signup, record = new_trace_id(), new_trace_id()
    arrive(logs, signup)
    arrive(logs, record)

    assert sink(logs).missing(journey(signup, record)) is None


def test_one_group_can_hold_both_processes_lines(logs: Any) -> None:
    trace_id = new_trace_id()
    arrive(logs, trace_id, worker_group=API_GROUP)

    assert sink(logs, worker_group=None).missing(journey(trace_id)) is None


def test_another_requests_lines_do_not_count(logs: Any) -> None:
    trace_id = new_trace_id()
    arrive(logs, new_trace_id())

    missing = sink(logs).missing(journey(trace_id))

    assert missing is not None
    assert f"logger-app's lines with trace id {trace_id} not in {API_GROUP} yet" in missing


def test_without_the_workers_line_the_sink_is_missing(logs: Any) -> None:
    trace_id = new_trace_id()
    write(logs, API_GROUP, "logger-app", "request.completed", trace_id)
    # The worker's line of another event of the same trace is not its processing.
    write(logs, WORKER_GROUP, "logger-app-worker", "worker.backing_off", trace_id)

    missing = sink(logs).missing(journey(trace_id))

    assert missing is not None
    assert f"logger-app-worker's worker.processed line with trace id {trace_id}" in missing
    assert "the worker has not processed the event" in missing


def test_a_missing_log_group_is_named(logs: Any) -> None:
    logs.delete_log_group(logGroupName=API_GROUP)

    missing = sink(logs).missing(journey(new_trace_id()))

    assert missing == f"log group {API_GROUP} does not exist (infra/ creates it: check the name)"


def test_access_denied_names_the_permission() -> None:
    with refusing_endpoint(400, "AccessDeniedException") as endpoint:
        missing = sink(client("logs", endpoint)).missing(journey(new_trace_id()))

    assert missing == (
        f"the task role lacks logs:FilterLogEvents on {API_GROUP} (AccessDeniedException)"
    )
