"""The X-Ray check: each trace of the journey is in X-Ray, with its DynamoDB and SQS calls.

ADOT's awsxray exporter turns each botocore client span (rpc.system aws-api) into a subsegment
named after the service (rpc.service: "DynamoDB", "SQS") in the "aws" namespace; X-Ray nests
subsegments in their segment's document and adds inferred segments of the same names."""

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, cast

import boto3

from logger_app.verify.aws import CLIENT_CONFIG, why_failed
from logger_app.verify.sinks import Journey

# What the journey's traces must hold: the request's writes and the event's trip through SQS.
REQUIRED_SERVICES = ("DynamoDB", "SQS")
# BatchGetTraces takes at most five ids per call.
_BATCH = 5


class XRayClient(Protocol):
    def batch_get_traces(self, **kwargs: Any) -> Mapping[str, Any]: ...


def xray_trace_id(trace_id: str) -> str:
    """An OpenTelemetry trace id (32 hex digits, the first 8 the epoch seconds with the xray id
    generator) as X-Ray spells it: 1-<8 hex>-<24 hex>."""
    if len(trace_id) != 32 or any(c not in "0123456789abcdef" for c in trace_id):
        raise ValueError(f"not a 32-hex-digit trace id: {trace_id!r}")
    return f"1-{trace_id[:8]}-{trace_id[8:]}"


def _documents(segment: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield segment
    for child in segment.get("subsegments", ()):
        if isinstance(child, Mapping):
            yield from _documents(child)


def services_in(trace: Mapping[str, Any]) -> set[str]:
    """The names of the (sub)segments of a BatchGetTraces trace."""
    names: set[str] = set()
    for segment in trace.get("Segments", ()):
        try:
            document = json.loads(segment.get("Document", ""))
        except ValueError:
            continue
        if isinstance(document, Mapping):
            names.update(str(part.get("name", "")) for part in _documents(document))
    return names


class XRaySink:
    name = "xray"

    def __init__(self, *, region: str, client: XRayClient | None = None) -> None:
        self._client = client or cast(
            XRayClient, boto3.client("xray", region_name=region, config=CLIENT_CONFIG)
        )

    def _traces(self, ids: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        found: dict[str, Mapping[str, Any]] = {}
        for start in range(0, len(ids), _BATCH):
            arguments: dict[str, Any] = {"TraceIds": list(ids[start : start + _BATCH])}
            while True:
                page = self._client.batch_get_traces(**arguments)
                for trace in page.get("Traces", ()):
                    found[str(trace.get("Id"))] = trace
                token = page.get("NextToken")
                if not token:
                    break
                arguments["NextToken"] = token
        return found

    def missing(self, journey: Journey) -> str | None:
        try:
            ids = [xray_trace_id(trace_id) for trace_id in journey.trace_ids]
        except ValueError as error:
            return f"the journey's {error} (the API's trace_id header)"
        try:
            traces = self._traces(ids)
        except Exception as error:  # an unreachable sink is a missing one
            return why_failed(error, service="X-Ray", permission="xray:BatchGetTraces")
        absent = [trace_id for trace_id in ids if trace_id not in traces]
        if absent:
            return (
                f"trace {', '.join(absent)} not in X-Ray yet (the collector's awsxray exporter "
                "failing, e.g. no xray:PutTraceSegments, or the request was not sampled)"
            )
        for trace_id in ids:
            lacking = [s for s in REQUIRED_SERVICES if s not in services_in(traces[trace_id])]
            if lacking:
                return (
                    f"trace {trace_id} has no {' or '.join(lacking)} subsegment yet (the "
                    "botocore instrumentation off, or the worker has not processed its event)"
                )
        return None
