"""Tempo (the local stand-in for X-Ray): each request's trace, `GET /api/traces/<trace id>`
(OTLP JSON), with its server span, and the sign-up's DynamoDB and SQS client spans."""

from typing import Any

from logger_app.verify import web
from logger_app.verify.sinks import Journey

SERVER_KINDS = {2, "SPAN_KIND_SERVER"}


def _attribute(span: dict[str, Any], key: str) -> Any:
    for item in span.get("attributes", []):
        if item.get("key") == key:
            value = item.get("value", {})
            return next(iter(value.values()), None)
    return None


def spans(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """Every span of a trace document: Tempo's v1 answer names the resource spans `batches`,
    v2's and OTLP's `resourceSpans`."""
    body = trace.get("trace", trace)
    found = []
    for resource in body.get("batches") or body.get("resourceSpans") or []:
        for scope in resource.get("scopeSpans") or resource.get("instrumentationLibrarySpans", []):
            found.extend(scope.get("spans", []))
    return found


class TempoSink:
    name = "tempo"

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _trace(self, trace_id: str) -> list[dict[str, Any]] | str:
        try:
            response = web.get(f"{self.url}/api/traces/{trace_id}", Accept="application/json")
        except web.UnreachableError as error:
            return f"Tempo {self.url} unreachable: {error}"
        if response.status == 404:
            return f"trace {trace_id} not found"
        if response.status != 200:
            return f"Tempo {self.url} answered {response.status}: {response.text[:200]}"
        return spans(response.json())

    def missing(self, journey: Journey) -> str | None:
        for index, trace_id in enumerate(journey.trace_ids):
            found = self._trace(trace_id)
            if isinstance(found, str):
                return found + "; is the collector running and exporting traces?"
            needed = {"server span"}
            # The sign-up writes to DynamoDB and publishes its event to SQS, in its trace.
            if index == 0:
                needed |= {"DynamoDB span", "SQS span"}
            present = {name for span in found for name in _present(span)}
            if needed - present:
                return f"trace {trace_id} has no {', '.join(sorted(needed - present))} (yet)"
        return None


def _present(span: dict[str, Any]) -> set[str]:
    names = {f"{_attribute(span, 'rpc.service')} span"}
    if span.get("kind") in SERVER_KINDS:
        names.add("server span")
    return names
