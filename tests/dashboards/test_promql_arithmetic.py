"""The staff panels' arithmetic, checked by promtool on synthetic series that a live test cannot
produce: samples every 60 s as in production, a process that starts or stops inside the window,
the first event of a lazily created series, and a week of history for the "a week ago" panels.
The expressions are the dashboards' own (from the committed JSON), with the variables set.
"""

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from dashboards.render import OUTPUT
from tests.dashboards.queries import queries, substitute
from tests.deploy.helpers import require_tool

STAFF: dict[str, Any] = json.loads((OUTPUT / "patients-live.json").read_text(encoding="utf-8"))
SCOPE = 'deployment_environment="prod", service_name="logger-app"'
INCREASE = f"sum(increase(logger_app_signups_total{{{SCOPE}}}[5m]))"
VARIABLES = {"environment": "prod", "service": ".+", "__range": "300s", "__interval": "300s"}


def _panel_expr(title: str) -> str:
    [query] = [q for q in queries(STAFF) if q.panel == title]
    return substitute(query.expr, VARIABLES)


def _heartbeat(minutes: int) -> dict[str, str]:
    """A process's export times (its value is the time), one a minute for `minutes`."""
    labels = f'{SCOPE}, instance="a"'
    return {
        "series": f"logger_app_telemetry_heartbeat_seconds{{{labels}}}",
        "values": f"0+60x{minutes}",
    }


def _signups(instance: str, values: str, outcome: str = "created") -> dict[str, str]:
    labels = f'outcome="{outcome}", {SCOPE}, instance="{instance}"'
    return {"series": f"logger_app_signups_total{{{labels}}}", "values": values}


def _promtool_test(tmp_path: Path, tests: list[dict[str, Any]]) -> None:
    (tmp_path / "none.rules.yaml").write_text("groups: []\n")
    spec = tmp_path / "test.yaml"
    spec.write_text(
        yaml.safe_dump(
            {"rule_files": ["none.rules.yaml"], "evaluation_interval": "1m", "tests": tests}
        )
    )
    promtool = require_tool("promtool", "apt-get install prometheus (Debian), see Makefile")
    result = subprocess.run(
        [promtool, "test", "rules", str(spec)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _expect(expr: str, at: str, value: float) -> dict[str, Any]:
    return {"expr": expr, "eval_time": at, "exp_samples": [{"labels": "{}", "value": value}]}


def test_counts_are_exact_where_increase_extrapolates(tmp_path: Path) -> None:
    today = _panel_expr("New patients today")
    _promtool_test(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": [
                    # A process running all along: 1 sign-up at 2m, 2 more at 5m.
                    _signups("a", "0 0 1 1 1 3 3 3"),
                    # A process started at 4m (its counters at zero), 2 sign-ups at 6m.
                    _signups("b", "_ _ _ _ 0 0 2 2"),
                    _heartbeat(8),
                ],
                "promql_expr_test": [
                    # In (2m30s, 7m30s]: 2 on a, 2 on b.
                    _expect(today, "7m30s", 4),
                    # What increase() makes of the same window: not a whole number (1 = true).
                    _expect(f"{INCREASE} > bool floor({INCREASE})", "7m30s", 1),
                ],
            }
        ],
    )


def test_the_first_event_of_a_new_series_counts(tmp_path: Path) -> None:
    failed = _panel_expr("Sign-ups that could not be saved")
    _promtool_test(
        tmp_path,
        [
            {
                "interval": "1m",
                # Created lazily, already holding its first count (no zero first).
                "input_series": [_signups("a", "_ _ 1 1 1", outcome="failed"), _heartbeat(5)],
                "promql_expr_test": [_expect(failed, "4m", 1)],
            }
        ],
    )


def test_a_stopped_process_still_counts_and_stale_data_reads_as_no_data(tmp_path: Path) -> None:
    today = _panel_expr("New patients today")
    _promtool_test(
        tmp_path,
        [
            {
                "interval": "1m",
                "input_series": [
                    # Replaced at 3m (a deploy): its 2 sign-ups still count for today.
                    _signups("old", "0 1 2 2"),
                    _signups("new", "_ _ _ _ 0 1 1 1 1"),
                    _heartbeat(8),
                ],
                "promql_expr_test": [
                    _expect(today, "5m", 3),
                    # Nothing has arrived for over 3 minutes: no number at all, not 0.
                    {"expr": today, "eval_time": "12m", "exp_samples": []},
                    _expect(_panel_expr("Data is current"), "12m", 240),
                ],
            }
        ],
    )


def test_a_week_ago_is_the_same_count_at_the_same_time_last_week(tmp_path: Path) -> None:
    week_ago = _panel_expr("New patients today, a week ago")
    minutes_in_a_week = 7 * 24 * 60
    _promtool_test(
        tmp_path,
        [
            {
                "interval": "1m",
                # 3 sign-ups in the first 5 minutes, then none for a week.
                "input_series": [
                    _signups("a", f"0 1 2 3 3 3+0x{minutes_in_a_week + 10}"),
                    _heartbeat(minutes_in_a_week + 10),
                ],
                "promql_expr_test": [
                    _expect(week_ago, f"{minutes_in_a_week + 5}m", 3),
                    _expect(_panel_expr("New patients today"), f"{minutes_in_a_week + 5}m", 0),
                ],
            }
        ],
    )
