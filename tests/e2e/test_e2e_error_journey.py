"""From an error to its trace and logs: the 404's problem+json carries the trace id that the
server span, the DynamoDB span that found nothing and the app's log lines share."""

from collections.abc import Callable

import pytest

from tests.collector.otelcol import MAY_BUILD_COLLECTOR
from tests.e2e.app import App
from tests.e2e.processes import poll
from tests.e2e.semconv import SERVER_STATUS_ATTRIBUTE
from tests.e2e.traces import SERVER, Span
from tests.e2e.traffic import Traffic

pytestmark = [pytest.mark.e2e, MAY_BUILD_COLLECTOR]


@pytest.fixture
def problem_trace_id(traffic: Traffic) -> str:
    problem = traffic.not_found.json()
    assert traffic.not_found.headers["content-type"].startswith("application/problem+json")
    trace_id: str = problem["trace_id"]
    assert len(trace_id) == 32
    int(trace_id, 16)
    return trace_id


def test_server_span_and_empty_dynamodb_read_share_the_problem_trace_id(
    problem_trace_id: str, spans: Callable[[], list[Span]]
) -> None:
    found = poll(
        lambda: [s for s in spans() if s.trace_id == problem_trace_id],
        until=lambda got: (
            any(s.kind == SERVER for s in got) and any(s.aws_service == "DynamoDB" for s in got)
        ),
    )
    [server] = [s for s in found if s.kind == SERVER]
    assert server.attributes["http.route"] == "/v1/records/{id}"
    assert server.attributes[SERVER_STATUS_ATTRIBUTE] == 404
    [dynamodb] = [s for s in found if s.aws_service == "DynamoDB"]
    assert dynamodb.attributes["rpc.method"] == "Query"
    assert dynamodb.attributes["http.status_code"] == 200  # the call worked; it found nothing


def test_app_log_lines_for_the_404_carry_the_same_trace_id(problem_trace_id: str, app: App) -> None:
    lines = [line for line in app.log_lines() if line["trace_id"] == problem_trace_id]
    events = {line["event"] for line in lines}
    assert {"record.not_found", "http.request"} <= events, lines
    [request] = [line for line in lines if line["event"] == "http.request"]
    assert request["status"] == 404
    assert request["route"] == "/v1/records/{id}"
