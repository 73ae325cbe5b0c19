"""logger-app verify's synthetic journey moves no staff number: every Prometheus query of every
dashboard, evaluated by promtool (Prometheus's own engine) over series of synthetic traffic
alone (every counter and request series the panels read, labelled synthetic, growing), shows
nothing above zero. The staff's live list of events leaves the synthetic lines out.
"""

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.datasources import LOKI_UID, PROMETHEUS_UID
from dashboards.promql import NOT_SYNTHETIC
from tests.dashboards.queries import Query, committed_boards, queries, substitute, unresolved
from tests.deploy.helpers import require_tool

SCOPE = 'deployment_environment="prod", service_name="logger-app", instance="a"'
VARIABLES = {
    "environment": "prod",
    "service": ".+",
    "__range": "300s",
    "__interval": "300s",
    "__rate_interval": "2m",
    "level": ".+",
}
TRAFFIC_METRICS = re.compile("|".join(sorted(NOT_SYNTHETIC)))
PROMETHEUS = [
    query
    for board in committed_boards().values()
    for query in queries(board)
    if query.datasource == PROMETHEUS_UID and TRAFFIC_METRICS.search(query.expr)
]


def _series(metric: str, labels: str) -> dict[str, str]:
    return {"series": f"{metric}{{{labels}, {SCOPE}}}", "values": "0+1x10"}


def _synthetic_traffic() -> list[dict[str, str]]:
    """Every series the panels read, as synthetic traffic would write them."""
    series: list[dict[str, str]] = []
    for outcome in ("created", "duplicate", "replayed", "rejected", "failed"):
        series.append(_series("logger_app_signups_total", f'outcome="{outcome}"'))
    for kind in ("call_started", "call_ended", "message", "note"):
        for outcome in ("created", "replayed", "rejected", "failed"):
            labels = f'kind="{kind}", outcome="{outcome}"'
            series.append(_series("logger_app_records_total", labels))
    for outcome in ("found", "not_found"):
        series.append(_series("logger_app_record_lookups_total", f'outcome="{outcome}"'))
    for event in ("patient.signed_up", "record.created"):
        for outcome in ("processed", "duplicate", "failed", "dead_lettered"):
            labels = f'event="{event}", outcome="{outcome}"'
            series.append(_series("logger_app_worker_events_total", labels))
    requests = [("/v1/signups", "POST"), ("/v1/records", "POST"), ("/v1/records/{id}", "GET")]
    for route, method in requests:
        for status in ("201", "200", "404", "422", "500", "503"):
            labels = f'http_route="{route}", http_request_method="{method}"'
            labels += f', http_response_status_code="{status}"'
            series.append(_series("http_server_request_duration_seconds_count", labels))
            for le in ("0.1", "0.25", "1", "+Inf"):
                bucket = f'{labels}, le="{le}"'
                series.append(_series("http_server_request_duration_seconds_bucket", bucket))
    for item in series:
        name = "logger_app_traffic" if item["series"].startswith("http_") else "traffic"
        item["series"] = item["series"].replace("{", f'{{{name}="synthetic", ', 1)
    heartbeat = f"logger_app_telemetry_heartbeat_seconds{{{SCOPE}}}"
    return [*series, {"series": heartbeat, "values": "0+60x10"}]


def _promtool_test(tmp_path: Path, tests: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "none.rules.yaml").write_text("groups: []\n")
    spec = tmp_path / "test.yaml"
    spec.write_text(
        yaml.safe_dump(
            {"rule_files": ["none.rules.yaml"], "evaluation_interval": "1m", "tests": tests}
        )
    )
    promtool = require_tool("promtool", "apt-get install prometheus (Debian), see Makefile")
    return subprocess.run(
        [promtool, "test", "rules", str(spec)], capture_output=True, text=True, check=False
    )


def test_every_panel_that_counts_requests_is_checked() -> None:
    panels = {query.panel for query in PROMETHEUS}
    assert {"New patients today", "Sign-ups that could not be saved"} <= panels
    assert len(PROMETHEUS) >= 20


def test_synthetic_traffic_alone_moves_no_panel(tmp_path: Path) -> None:
    expressions = [substitute(query.expr, VARIABLES) for query in PROMETHEUS]
    assert [expr for expr in expressions if unresolved(expr)] == []
    checks = [
        {"expr": f"({expr}) > 0", "eval_time": "9m", "exp_samples": []} for expr in expressions
    ]
    tests = [{"interval": "1m", "input_series": _synthetic_traffic(), "promql_expr_test": checks}]
    result = _promtool_test(tmp_path, tests)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr


def test_the_same_traffic_from_patients_is_counted(tmp_path: Path) -> None:
    """The check above is not vacuous: the same series, from patients, are seen."""
    series = [
        {**item, "series": item["series"].replace('="synthetic"', '="patient"')}
        for item in _synthetic_traffic()
    ]
    [today] = [q for q in PROMETHEUS if q.panel == "New patients today"]
    expr = substitute(today.expr, VARIABLES)
    check = {"expr": expr, "eval_time": "9m", "exp_samples": [{"labels": "{}", "value": 5}]}
    tests = [{"interval": "1m", "input_series": series, "promql_expr_test": [check]}]
    result = _promtool_test(tmp_path, tests)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr


def _live_events() -> Query:
    board = committed_boards()["patients-live.json"]
    [query] = [q for q in queries(board) if q.datasource == LOKI_UID and "line_format" in q.expr]
    return query


@pytest.mark.parametrize(
    "line",
    [
        # As the app writes it, and as Fluent Bit's Loki output re-encodes it (no spaces).
        '{"event": "signup.created", "synthetic": true, "trace_id": "t"}',
        '{"event":"signup.created","synthetic":true,"trace_id":"t"}',
    ],
)
def test_the_staff_list_of_events_leaves_synthetic_lines_out(line: str) -> None:
    expr = _live_events().expr
    # The line filter before `| json`: Loki's `!~` is an RE2 match anywhere in the line.
    match = re.search(r"\}\s*!~\s*`([^`]+)`\s*\|\s*json", expr)
    assert match, expr
    pattern = re.compile(match.group(1))
    assert pattern.search(line)
    assert not pattern.search('{"event": "signup.created", "trace_id": "t"}')
