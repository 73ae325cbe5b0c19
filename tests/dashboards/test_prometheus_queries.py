"""Every PromQL expression of every dashboard, with its variables substituted, run on the real
Prometheus after real traffic through the app and the collector: each must return at least one
series with a number in it. A query that silently returns nothing fails here.

Failure counters are the one exception to "the traffic produced it": an outcome that never
happened (a sign-up that could not be saved) has no series at all, so those panels end in
`or vector(0)` and still return one series, 0. Only the staff failure panels and queue
publish failures may do so (test_only_failure_panels_fall_back_to_zero).
"""

import json
import math
from typing import Any

import pytest

from dashboards.datasources import PROMETHEUS_UID
from dashboards.render import OUTPUT
from tests.dashboards.queries import Query, queries, substitute, unresolved
from tests.dashboards.variables import resolve
from tests.e2e.prometheus import Prometheus
from tests.e2e.traffic import Traffic

pytestmark = pytest.mark.e2e

BOARDS: dict[str, dict[str, Any]] = {
    p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(OUTPUT.glob("*.json"))
}
PROMQL = [
    (name, query)
    for name, board in BOARDS.items()
    for query in queries(board)
    if query.datasource == PROMETHEUS_UID
]


@pytest.fixture(scope="module")
def variables(
    prometheus: Prometheus, dashboard_traffic: Traffic, degraded_apps: list[Any]
) -> dict[str, dict[str, str]]:
    return {name: resolve(board, prometheus.url) for name, board in BOARDS.items()}


def test_there_are_promql_queries_to_check() -> None:
    assert len(PROMQL) >= 20


def test_variables_select_the_apps_environment_and_service(
    prometheus: Prometheus, variables: dict[str, dict[str, str]]
) -> None:
    series = prometheus.series("logger_app_signups_total")
    assert series
    for values in variables.values():
        assert values["service"] == "logger-app"
        assert {s["deployment_environment"] for s in series} == {values["environment"]}


@pytest.mark.parametrize(
    ("board", "query"), PROMQL, ids=[f"{b}:{q.panel}:{q.expr[:40]}" for b, q in PROMQL]
)
def test_query_returns_a_series(
    prometheus: Prometheus, variables: dict[str, dict[str, str]], board: str, query: Query
) -> None:
    expr = substitute(query.expr, variables[board])
    assert not unresolved(expr), f"unsubstituted variable in {expr}"
    samples = prometheus.query(expr)
    assert samples, f"{query.dashboard} / {query.panel}: no series for\n{expr}"
    assert [s for s in samples if math.isfinite(s.value)], (
        f"{query.dashboard} / {query.panel}: only NaN/Inf for\n{expr}\n{samples}"
    )


def test_only_failure_panels_fall_back_to_zero() -> None:
    allowed = {
        "Sign-ups that could not be saved",
        "Calls, messages or notes that could not be saved",
        "Updates not passed on to other systems",
        "Requests the system could not answer",
        "Queue publish failures",
    }
    with_fallback = {q.panel for _, q in PROMQL if "vector(0)" in q.expr}
    assert with_fallback == allowed


def test_failure_panels_show_the_real_failures(
    prometheus: Prometheus, variables: dict[str, dict[str, str]]
) -> None:
    """The degraded app instances really failed (DynamoDB, then SQS unreachable): every failure
    panel must count them, not fall back to 0."""
    failures = {
        "Sign-ups that could not be saved",
        "Calls, messages or notes that could not be saved",
        "Updates not passed on to other systems",
        "Requests the system could not answer",
        "Queue publish failures",
    }
    for board, query in PROMQL:
        if query.panel in failures:
            [sample] = prometheus.query(substitute(query.expr, variables[board]))
            assert sample.value >= 1, f"{query.panel}: {sample}"
            failures.discard(query.panel)
    assert not failures


def test_business_counts_are_not_zero(
    prometheus: Prometheus, variables: dict[str, dict[str, str]]
) -> None:
    """The staff panels for things the traffic did show them (not just a series of zeros):
    counted over the last hour, as the "today" panels do."""
    board = "patients-live.json"
    checked = 0
    for _, query in PROMQL:
        if query.panel.endswith("today") or query.panel == "New patients in the last hour":
            expr = substitute(query.expr, variables[board])
            # increase() misses what a new series counted before its first sample; the raw
            # counter shows the traffic arrived under the same selector.
            raw = expr.replace("sum(increase(", "sum(max_over_time(")
            [sample] = prometheus.query(raw)
            assert sample.value >= 1, f"{query.panel}: {raw}"
            checked += 1
    assert checked == 8
