"""The CloudWatch check: FireLens's durable copy holds the journey's lines, the API's and the
worker's, each carrying its request's trace id (fluent-bit.conf, the cloudwatch_logs output)."""

import json
from collections.abc import Iterator, Mapping
from typing import Any, Protocol, cast

import boto3
from botocore.exceptions import ClientError

from logger_app.log_events import API_SERVICE, WORKER_PROCESSED, WORKER_SERVICE
from logger_app.verify.aws import CLIENT_CONFIG, why_failed
from logger_app.verify.sinks import Journey

# The router stamps each event with the time it read it; the app's clock may run a little ahead.
_CLOCK_SLACK_MS = 60_000
_MAX_PAGES = 10


class LogsClient(Protocol):
    def filter_log_events(self, **kwargs: Any) -> Mapping[str, Any]: ...


def _lines(client: LogsClient, group: str, trace_id: str, since_ms: int) -> Iterator[Any]:
    # A quoted term matches the id wherever it stands, whether or not the line parsed as JSON.
    arguments: dict[str, Any] = {
        "logGroupName": group,
        "filterPattern": f'"{trace_id}"',
        "startTime": since_ms,
    }
    for _ in range(_MAX_PAGES):
        page = client.filter_log_events(**arguments)
        for event in page.get("events", ()):
            try:
                yield json.loads(event.get("message", ""))
            except ValueError:
                continue
        token = page.get("nextToken")
        if not token:
            return
        arguments["nextToken"] = token


def _seen(client: LogsClient, group: str, trace_id: str, since_ms: int) -> set[tuple[str, str]]:
    """(service, event) of the lines of this trace in the group."""
    return {
        (str(line.get("service", "")), str(line.get("event", "")))
        for line in _lines(client, group, trace_id, since_ms)
        if isinstance(line, Mapping) and line.get("trace_id") == trace_id
    }


class CloudWatchSink:
    name = "cloudwatch"

    def __init__(
        self,
        *,
        region: str,
        log_group: str,
        worker_log_group: str | None = None,
        client: LogsClient | None = None,
    ) -> None:
        self._client = client or cast(
            LogsClient, boto3.client("logs", region_name=region, config=CLIENT_CONFIG)
        )
        self._group = log_group
        self._worker_group = worker_log_group or log_group

    def _failure(self, error: Exception, group: str) -> str:
        if (
            isinstance(error, ClientError)
            and error.response.get("Error", {}).get("Code") == "ResourceNotFoundException"
        ):
            return f"log group {group} does not exist (infra/ creates it: check the name)"
        permission = f"logs:FilterLogEvents on {group}"
        return why_failed(error, service="CloudWatch Logs", permission=permission)

    def missing(self, journey: Journey) -> str | None:
        since = int(journey.started * 1000) - _CLOCK_SLACK_MS
        for trace_id in journey.trace_ids:
            for group, service, wanted in (
                (self._group, API_SERVICE, None),
                (self._worker_group, WORKER_SERVICE, WORKER_PROCESSED),
            ):
                try:
                    seen = _seen(self._client, group, trace_id, since)
                except Exception as error:  # an unreachable sink is a missing one
                    return self._failure(error, group)
                if not any(s == service and wanted in (None, e) for s, e in seen):
                    what = f"{service}'s {wanted} line" if wanted else f"{service}'s lines"
                    return (
                        f"{what} with trace id {trace_id} not in {group} yet (the log router's "
                        "cloudwatch_logs output failing, e.g. no logs:PutLogEvents"
                        + (", or the worker has not processed the event" if wanted else "")
                        + ")"
                    )
        return None
