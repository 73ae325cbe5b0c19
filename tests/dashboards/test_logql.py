"""Every LogQL expression of every dashboard, read with Grafana's own LogQL grammar and checked
against the app's real log lines as the real Fluent Bit delivered them to Loki's push API (after
the e2e traffic and the degraded instances' failures): the stream labels the queries select on
exist with values that match, and the JSON fields they read are in the lines.

Loki itself does not run here (its code is AGPL, marked not-to-use), so these checks stop at
what Loki is given: whether Loki would evaluate each query to the numbers shown is not tested.
"""

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.datasources import LOKI_UID
from tests.dashboards.grafana_time import builtins
from tests.dashboards.logql import Matcher, ParsedQuery, parse
from tests.dashboards.queries import Query, committed_boards, queries, substitute, unresolved
from tests.dashboards.variables import resolve
from tests.e2e.prometheus import Prometheus
from tests.log_router.loki_receiver import PushedEntry

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
PROVISIONING = REPO / "grafana" / "provisioning"
BOARDS = committed_boards()
LOGQL = [
    (name, query)
    for name, board in BOARDS.items()
    for query in queries(board)
    if query.datasource == LOKI_UID
]
IDS = [f"{b}:{q.panel}" for b, q in LOGQL]
XRAY_ID = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
# The labels fluent-bit.conf gives every entry, and the level it adds for JSON lines.
STREAM_LABELS = {"service", "environment", "level"}


def _parsed(expr: str) -> ParsedQuery:
    [parsed] = parse([expr])
    return parsed


def _timed(query: Query) -> str:
    """The query with Grafana's time variables for its panel (the grammar needs durations)."""
    now = datetime.now(UTC)
    return substitute(query.expr, builtins(query.dashboard_from, query.panel_json, now))


@pytest.fixture(scope="module")
def resolved(prometheus: Prometheus) -> dict[str, dict[str, str]]:
    """Each board's variables as Grafana first selects them, from the e2e Prometheus."""
    return {name: resolve(board, prometheus.url) for name, board in BOARDS.items()}


def _records(entries: list[PushedEntry]) -> list[dict[str, Any]]:
    records = []
    for entry in entries:
        try:
            records.append(entry.record)
        except json.JSONDecodeError:
            continue  # a line that was not JSON (uvicorn's start-up lines) arrives raw
    return records


def _selects(matcher: Matcher, labels: dict[str, str]) -> bool:
    value = labels.get(matcher.name, "")
    # Loki's label regexes are fully anchored RE2; these patterns mean the same in Python's re.
    matched = {
        "=": value == matcher.value,
        "!=": value != matcher.value,
        "=~": re.fullmatch(matcher.value, value) is not None,
        "!~": re.fullmatch(matcher.value, value) is None,
    }
    return matched[matcher.operator]


def test_there_are_logql_queries_to_check() -> None:
    assert len(LOGQL) >= 4


def test_the_grammar_rejects_a_broken_query() -> None:
    assert _parsed('{service="logger-app" | json').errors


@pytest.mark.parametrize(("board", "query"), LOGQL, ids=IDS)
def test_query_parses_with_grafanas_grammar(board: str, query: Query) -> None:
    parsed = _parsed(_timed(query))
    assert not parsed.errors, f"{query.panel}: syntax errors near {parsed.errors}"
    assert parsed.selectors(), query.expr


@pytest.mark.parametrize(("board", "query"), LOGQL, ids=IDS)
def test_stream_selectors_select_delivered_streams(
    board: str,
    query: Query,
    resolved: dict[str, dict[str, str]],
    delivered_logs: list[PushedEntry],
) -> None:
    expr = substitute(_timed(query), resolved[board])
    assert not unresolved(expr), expr
    delivered_labels = {name for entry in delivered_logs for name in entry.labels}
    assert delivered_labels == STREAM_LABELS
    for selector in _parsed(expr).selectors():
        assert {m.name for m in selector} <= STREAM_LABELS, query.panel
        selected = [e for e in delivered_logs if all(_selects(m, e.labels) for m in selector)]
        assert selected, f"{query.panel}: {selector} selects none of the delivered streams"


@pytest.mark.parametrize(("board", "query"), LOGQL, ids=IDS)
def test_fields_read_from_the_json_are_in_the_lines(
    board: str, query: Query, delivered_logs: list[PushedEntry]
) -> None:
    fields = _parsed(_timed(query)).extracted_fields()
    in_lines = {key for record in _records(delivered_logs) for key in record}
    missing = fields - in_lines - STREAM_LABELS
    assert not missing, f"{query.panel}: {missing} are in no delivered line"


def _board_query(board: str, panel: str) -> Query:
    [query] = [q for name, q in LOGQL if name == board and q.panel == panel]
    return query


def _event_filter(query: Query) -> re.Pattern[str]:
    [event] = [
        matcher
        for node in _parsed(_timed(query)).nodes
        if node.type == "Matcher" and node.text.startswith("event")
        for matcher in [re.fullmatch(r"event\s*=~?\s*[`\"](.*)[`\"]", node.text)]
        if matcher
    ]
    return re.compile(event.group(1))


def test_every_event_the_staff_list_names_is_an_event_the_app_logs(
    delivered_logs: list[PushedEntry],
) -> None:
    query = _board_query("patients-live.json", "Latest activity")
    named = set(_event_filter(query).pattern.replace("[.]", ".").split("|"))
    logged = {record.get("event") for record in _records(delivered_logs)}
    # request.failed is an unexpected error (500): the e2e traffic causes none. record.id_taken
    # needs two records of one interaction in one microsecond of the server's clock: the
    # integration test makes one with a fixed clock, and test_generated checks its words.
    assert named - logged == {"request.failed", "record.id_taken"}, named - logged
    for event in named:
        assert f'"{event}"' in query.expr, f"{event} has no words in the line_format"


def test_refused_requests_are_logged_with_their_dependency(
    delivered_logs: list[PushedEntry],
) -> None:
    query = _board_query("service-health.json", "Requests refused: DynamoDB or SQS unavailable")
    refused = [
        r for r in _records(delivered_logs) if _event_filter(query).fullmatch(r.get("event", ""))
    ]
    assert {r.get("dependency") for r in refused} >= {"DynamoDB"}


def test_log_panel_xray_ids_are_built_from_delivered_trace_ids(
    delivered_logs: list[PushedEntry],
) -> None:
    expr = _board_query("service-health.json", "Logs").expr
    pattern, replacement = re.search(
        r'regexReplaceAll "([^"]+)" \.trace_id "([^"]+)"', expr
    ).groups()  # type: ignore[union-attr]
    python_replacement = re.sub(r"\$\{(\d+)\}", r"\\\1", replacement)
    trace_ids = [r["trace_id"] for r in _records(delivered_logs) if r.get("trace_id")]
    assert len(trace_ids) >= 10
    for trace_id in trace_ids:
        xray_id = re.sub(pattern, python_replacement, trace_id)
        assert XRAY_ID.match(xray_id), xray_id
        assert xray_id.replace("-", "")[1:] == trace_id


def _derived_fields(path: Path) -> list[dict[str, Any]]:
    config = yaml.safe_load(path.read_text())
    [loki_source] = [d for d in config["datasources"] if d["uid"] == LOKI_UID]
    fields: list[dict[str, Any]] = loki_source["jsonData"]["derivedFields"]
    return fields


def test_local_trace_links_find_the_trace_id_in_delivered_lines(
    delivered_logs: list[PushedEntry],
) -> None:
    [field] = _derived_fields(PROVISIONING / "local" / "datasources" / "datasources.yaml")
    assert field["matcherType"] == "regex"
    matched = 0
    for entry in delivered_logs:
        if not entry.line.startswith("{"):
            continue
        trace_id = entry.record["trace_id"]
        found = re.search(field["matcherRegex"], entry.line)
        if trace_id:
            assert found, entry.line
            assert found.group(1) == trace_id, entry.line
            matched += 1
        else:
            assert not found, entry.line
    assert matched >= 10


def test_aws_trace_links_use_the_label_the_log_panel_derives() -> None:
    fields = _derived_fields(PROVISIONING / "aws" / "datasources" / "datasources.yaml")
    [field] = [f for f in fields if f["matcherType"] == "label"]
    assert field["datasourceUid"] == "xray"
    assert (
        f"label_format {field['matcherRegex']}=" in _board_query("service-health.json", "Logs").expr
    )


def test_level_variable_offers_every_level_delivered(delivered_logs: list[PushedEntry]) -> None:
    variables = BOARDS["service-health.json"]["templating"]["list"]
    [level] = [v for v in variables if v["name"] == "level"]
    offered = set(level["query"].split(","))
    delivered = {e.labels["level"] for e in delivered_logs if "level" in e.labels}
    assert delivered
    assert delivered <= offered
