"""Every answer names its trace in a `traceresponse` header (W3C Trace Context Level 2): the
server span's trace and span ids, successes included (logger-app verify looks the journey up by
it)."""

import re
import uuid

from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_span_id, format_trace_id

FORMAT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$")


def test_a_successful_sign_up_names_its_server_span(
    client: TestClient, spans: InMemorySpanExporter
) -> None:
    response = client.post(
        "/v1/signups", json={"email": f"{uuid.uuid4().hex}@example.com", "full_name": "Verify"}
    )
    assert response.status_code == 201, response.text
    match = FORMAT.match(response.headers["traceresponse"])
    assert match, response.headers["traceresponse"]
    server = [span for span in spans.get_finished_spans() if span.kind.name == "SERVER"]
    assert [
        (format_trace_id(s.context.trace_id), format_span_id(s.context.span_id)) for s in server
    ] == [match.groups()]


def test_a_problem_names_the_trace_its_body_quotes(client: TestClient) -> None:
    response = client.get(f"/v1/records/{uuid.uuid4()}")
    assert response.status_code == 404
    match = FORMAT.match(response.headers["traceresponse"])
    assert match, response.headers
    assert match.group(1) == response.json()["trace_id"]
