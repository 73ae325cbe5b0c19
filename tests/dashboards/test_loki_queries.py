"""Every LogQL expression of every dashboard, run on a real Loki that holds the app's own log
lines from the e2e traffic, shipped with the labels, structured metadata and removed keys that
fluent-bit.conf's Loki output gives them. Each must return data; the staff panel must read as
plain words with no personal data; trace links must resolve from real lines.

As with PromQL, a failure that the traffic never causes (DynamoDB or SQS unavailable) has no log
lines, so that one panel ends in `or vector(0)` and reads 0; no other LogQL query may.
"""

import json
import math
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.datasources import LOKI_UID
from dashboards.patients import EVENT_WORDS, RECORD_WORDS
from dashboards.render import OUTPUT
from tests.dashboards.loki import Loki, loki_output
from tests.dashboards.queries import Query, queries, substitute, unresolved
from tests.dashboards.variables import resolve
from tests.e2e.prometheus import Prometheus
from tests.e2e.traffic import Ledger

# The first run on a machine builds Loki inside the `loki` fixture's setup (about 15 minutes on
# 2 cores; cached afterwards), which the suite-wide 300 s timeout would cut short.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]

REPO = Path(__file__).resolve().parents[2]
PROVISIONING = REPO / "grafana" / "provisioning"
BOARDS: dict[str, dict[str, Any]] = {
    p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(OUTPUT.glob("*.json"))
}
LOGQL = [
    (name, query)
    for name, board in BOARDS.items()
    for query in queries(board)
    if query.datasource == LOKI_UID
]
SELECTOR = re.compile(r"\{([^{}]*)\}")
MATCHER = re.compile(r'(\w+)\s*(?:=~|!~|!=|=)\s*"')
XRAY_ID = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")


def _board_query(board: str, panel: str) -> Query:
    [query] = [q for name, q in LOGQL if name == board and q.panel == panel]
    return query


@pytest.fixture(scope="module")
def run(loki: Loki, prometheus: Prometheus, shipped_logs: list[dict[str, Any]]) -> Any:
    variables = {name: resolve(board, prometheus.url) for name, board in BOARDS.items()}
    start = time.time() - 3600

    def execute(board: str, query: Query) -> dict[str, Any]:
        expr = substitute(query.expr, variables[board])
        assert not unresolved(expr), expr
        return loki.query_range(expr, start, time.time())

    return execute


def test_there_are_logql_queries_to_check() -> None:
    assert len(LOGQL) >= 4


def test_stream_selectors_use_only_the_labels_fluent_bit_assigns() -> None:
    output = loki_output()
    assigned = set(output.static_labels) | set(output.record_labels)
    assert assigned == {"service", "environment", "level"}
    for _, query in LOGQL:
        for selector in SELECTOR.findall(query.expr.split("|")[0]):
            names = set(MATCHER.findall(selector))
            assert names, query.expr
            assert names <= assigned, f"{query.panel}: {names - assigned} are not Loki labels"


@pytest.mark.parametrize(
    ("board", "query"), LOGQL, ids=[f"{b}:{q.panel}:{q.expr[:40]}" for b, q in LOGQL]
)
def test_query_returns_data(run: Any, board: str, query: Query) -> None:
    data = run(board, query)
    result = data["result"]
    assert result, f"{query.dashboard} / {query.panel}: nothing for\n{query.expr}"
    if data["resultType"] == "matrix":
        values = [float(v) for series in result for _, v in series["values"]]
        assert [v for v in values if math.isfinite(v)], query.expr
    else:
        assert data["resultType"] == "streams"
        assert sum(len(stream["values"]) for stream in result) > 0


def test_only_the_dependency_failure_panel_falls_back_to_zero() -> None:
    with_fallback = {q.panel for _, q in LOGQL if "vector(0)" in q.expr}
    assert with_fallback == {"Requests refused: DynamoDB or SQS unavailable"}


def test_refused_requests_are_counted_per_dependency(run: Any) -> None:
    panel = "Requests refused: DynamoDB or SQS unavailable"
    data = run("service-health.json", _board_query("service-health.json", panel))
    counted = {
        series["metric"].get("dependency"): max(float(v) for _, v in series["values"])
        for series in data["result"]
    }
    assert counted.get("DynamoDB", 0) >= 1, counted


def _lines(data: dict[str, Any]) -> list[str]:
    return [line for stream in data["result"] for _, line in stream["values"]]


def test_latest_activity_reads_as_plain_words(run: Any, ledger: Ledger) -> None:
    lines = _lines(run("patients-live.json", _board_query("patients-live.json", "Latest activity")))
    allowed = set(EVENT_WORDS.values()) | set(RECORD_WORDS.values())
    assert set(lines) <= allowed, set(lines) - allowed
    expected = {
        EVENT_WORDS["signup.created"],
        EVENT_WORDS["signup.duplicate"],
        EVENT_WORDS["signup.replayed"],
        EVENT_WORDS["record.not_found"],
        # From the degraded app instances (tests/dashboards/fixtures.py).
        EVENT_WORDS["dependency.unavailable"],
        EVENT_WORDS["event.publish_failed"],
        *RECORD_WORDS.values(),
    }
    assert expected <= set(lines), expected - set(lines)
    assert not [line for line in lines for secret in ledger.personal_data if secret in line]


def test_service_health_log_lines_carry_their_xray_trace_id(run: Any) -> None:
    data = run("service-health.json", _board_query("service-health.json", "Logs"))
    linked = 0
    for stream in data["result"]:
        for _, line in stream["values"]:
            trace_id = json.loads(line)["trace_id"]
            if trace_id:
                labels = stream["stream"]
                assert XRAY_ID.match(labels["xray_trace_id"]), labels
                assert labels["xray_trace_id"].replace("-", "")[1:] == trace_id
                linked += 1
    assert linked >= 10


def _derived_fields(path: Path) -> list[dict[str, Any]]:
    config = yaml.safe_load(path.read_text())
    [loki_source] = [d for d in config["datasources"] if d["uid"] == LOKI_UID]
    fields: list[dict[str, Any]] = loki_source["jsonData"]["derivedFields"]
    return fields


def test_local_trace_links_find_the_trace_id_in_real_lines(run: Any) -> None:
    [field] = _derived_fields(PROVISIONING / "local" / "datasources" / "datasources.yaml")
    assert field["matcherType"] == "regex"
    data = run("service-health.json", _board_query("service-health.json", "Logs"))
    matched = 0
    for line in _lines(data):
        trace_id = json.loads(line)["trace_id"]
        found = re.search(field["matcherRegex"], line)
        if trace_id:
            assert found, line
            assert found.group(1) == trace_id, line
            matched += 1
        else:
            assert not found, line
    assert matched >= 10


def test_aws_trace_links_use_the_label_the_log_panel_derives() -> None:
    fields = _derived_fields(PROVISIONING / "aws" / "datasources" / "datasources.yaml")
    [field] = [f for f in fields if f["matcherType"] == "label"]
    assert field["datasourceUid"] == "xray"
    assert (
        f"label_format {field['matcherRegex']}=" in _board_query("service-health.json", "Logs").expr
    )


def test_level_variable_offers_every_level_in_the_logs(shipped_logs: list[dict[str, Any]]) -> None:
    variables = BOARDS["service-health.json"]["templating"]["list"]
    [level] = [v for v in variables if v["name"] == "level"]
    offered = set(level["query"].split(","))
    assert {line["level"] for line in shipped_logs} <= offered
