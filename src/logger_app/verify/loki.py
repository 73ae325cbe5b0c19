"""Loki: the journey's log lines, found by trace id (`GET /loki/api/v1/query_range`, LogQL
`<selector> |= "<trace id>"`). The app's `http.request` line of each request, and (the worker
sink) the worker's `worker.processed` line of the sign-up's event, which continues its trace."""

import json
import time
from typing import Any

from logger_app.log_events import API_SERVICE, HTTP_REQUEST, WORKER_PROCESSED, WORKER_SERVICE
from logger_app.verify import web
from logger_app.verify.sinks import Journey

# The "service" label fluent-bit.conf gives the lines of the app's and of the worker's task (on
# ECS each task has its own log router and name; compose labels both as the app's).
DEFAULT_SELECTOR = f'{{service=~"{API_SERVICE}|{WORKER_SERVICE}"}}'
# How far before the journey to search: clocks of the machines differ a little.
SKEW_SECONDS = 60


class LokiUnreachableError(Exception):
    pass


class LokiLines:
    """The JSON lines holding a trace id, as Loki returns them."""

    def __init__(self, url: str, selector: str = DEFAULT_SELECTOR) -> None:
        self.url = url.rstrip("/")
        self.selector = selector

    def with_trace_id(self, trace_id: str, since: float) -> list[dict[str, Any]]:
        params = {
            "query": f'{self.selector} |= "{trace_id}"',
            "start": str(int((since - SKEW_SECONDS) * 1e9)),
            "end": str(int((time.time() + SKEW_SECONDS) * 1e9)),
            "limit": "1000",
            "direction": "forward",
        }
        try:
            response = web.get(f"{self.url}/loki/api/v1/query_range", params)
        except web.UnreachableError as error:
            raise LokiUnreachableError(f"Loki {self.url} unreachable: {error}") from None
        if response.status != 200:
            raise LokiUnreachableError(
                f"Loki {self.url} answered {response.status}: {response.text[:200]}"
            )
        lines: list[dict[str, Any]] = []
        for stream in response.json()["data"]["result"]:
            for _, line in stream["values"]:
                try:
                    parsed = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(parsed, dict) and parsed.get("trace_id") == trace_id:
                    lines.append(parsed)
        return lines


class LokiSink:
    name = "loki"

    def __init__(self, lines: LokiLines) -> None:
        self.lines = lines

    def missing(self, journey: Journey) -> str | None:
        try:
            absent = [
                trace_id
                for trace_id in journey.trace_ids
                if not any(
                    line.get("event") == HTTP_REQUEST
                    for line in self.lines.with_trace_id(trace_id, journey.started)
                )
            ]
        except LokiUnreachableError as error:
            return str(error)
        if absent:
            return (
                f"no http.request line of trace {', '.join(absent)} under "
                f"{self.lines.selector}; is the log router (Fluent Bit) running and reaching Loki?"
            )
        return None


class WorkerSink:
    """The worker processed the sign-up's event: its line, in the sign-up's trace, in Loki. It
    is read through Loki, so while Loki is missing it cannot be told (the report says so)."""

    name = "worker"
    via = "loki"

    def __init__(self, lines: LokiLines) -> None:
        self.lines = lines

    def missing(self, journey: Journey) -> str | None:
        signup = journey.trace_ids[0]
        try:
            lines = self.lines.with_trace_id(signup, journey.started)
        except LokiUnreachableError as error:
            return f"cannot tell: {error}"
        if not any(line.get("event") == WORKER_PROCESSED for line in lines):
            return (
                f"no worker.processed line in the sign-up's trace {signup}; is the worker "
                "running and consuming the queue?"
            )
        return None
