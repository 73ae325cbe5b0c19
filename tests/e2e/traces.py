"""Spans as the collector's file exporter wrote them (OTLP/JSON, one export request per line)."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVER = 2
CLIENT = 3
PRODUCER = 4


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    attributes: dict[str, Any]
    resource: dict[str, Any]

    @property
    def aws_service(self) -> str | None:
        """`DynamoDB` or `SQS` for the botocore client spans."""
        service = self.attributes.get("rpc.service")
        return service if isinstance(service, str) else None


def _value(value: dict[str, Any]) -> Any:
    if "arrayValue" in value:
        return [_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return _attributes(value["kvlistValue"].get("values", []))
    if "intValue" in value:
        return int(value["intValue"])
    for key in ("stringValue", "boolValue", "doubleValue", "bytesValue"):
        if key in value:
            return value[key]
    return None


def _attributes(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {item["key"]: _value(item.get("value", {})) for item in items}


def read_spans(paths: list[Path]) -> list[Span]:
    spans: list[Span] = []
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            for resource_spans in json.loads(line).get("resourceSpans", []):
                resource = _attributes(resource_spans.get("resource", {}).get("attributes", []))
                for scope_spans in resource_spans.get("scopeSpans", []):
                    for span in scope_spans.get("spans", []):
                        spans.append(
                            Span(
                                trace_id=span["traceId"],
                                span_id=span["spanId"],
                                parent_span_id=span.get("parentSpanId", ""),
                                name=span["name"],
                                kind=span.get("kind", 0),
                                attributes=_attributes(span.get("attributes", [])),
                                resource=resource,
                            )
                        )
    return spans
