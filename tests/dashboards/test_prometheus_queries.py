"""Every PromQL expression of every dashboard, with its variables substituted and Grafana's time
variables computed for its panel (grafana_time.py), run on the real Prometheus after real
traffic through the app, the worker and the collector: each must return a series with a number.
The staff numbers must be exact: known traffic and exactly one failure of each kind read as
exactly those whole numbers.
"""

import math
from datetime import UTC, datetime

import pytest

from dashboards.datasources import PROMETHEUS_UID
from tests.dashboards.fixtures import Degraded
from tests.dashboards.grafana_time import builtins
from tests.dashboards.queries import Query, committed_boards, queries, substitute, unresolved
from tests.dashboards.variables import options, resolve
from tests.e2e.processes import poll
from tests.e2e.prometheus import Prometheus
from tests.e2e.traffic import Ledger, Traffic

pytestmark = pytest.mark.e2e

BOARDS = committed_boards()
PROMQL = [
    (name, query)
    for name, board in BOARDS.items()
    for query in queries(board)
    if query.datasource == PROMETHEUS_UID
]
# A week ago the e2e stack did not exist: these return nothing here (promtool checks their
# arithmetic on a week of synthetic series: test_promql_arithmetic.py).
WEEK_AGO = "offset 1w"
# Active alerts: nothing while nothing is wrong (tests/alerts/test_e2e_alerts.py sees this
# panel's query return a real alert during a real fault).
ALERTS_PANEL = "Problems engineering has already been told about"
STAFF = "patients-live.json"


@pytest.fixture(scope="module")
def variables(
    prometheus: Prometheus, dashboard_traffic: Traffic, degraded_apps: Degraded
) -> dict[str, dict[str, str]]:
    return {name: resolve(board, prometheus.url) for name, board in BOARDS.items()}


def _expr(board: str, query: Query, variables: dict[str, dict[str, str]]) -> str:
    values = {**variables[board], **builtins(query.dashboard_from, query.panel_json, _now())}
    expr = substitute(query.expr, values)
    assert not unresolved(expr), f"unsubstituted variable in {expr}"
    return expr


def _now() -> datetime:
    return datetime.now(UTC)


def _value(prometheus: Prometheus, expr: str) -> float:
    [sample] = prometheus.query(expr)
    return sample.value


def _panel(board: str, title: str) -> Query:
    [query] = [q for name, q in PROMQL if name == board and q.panel == title]
    return query


def test_there_are_promql_queries_to_check() -> None:
    assert len(PROMQL) >= 30


def test_variables_offer_the_api_and_the_worker(
    prometheus: Prometheus, variables: dict[str, dict[str, str]]
) -> None:
    series = prometheus.series("logger_app_signups_total")
    for name, values in variables.items():
        [service] = [v for v in BOARDS[name]["templating"]["list"] if v["name"] == "service"]
        assert options(service, prometheus.url, values) == ["logger-app", "logger-app-worker"]
        assert values["service"] == ".+"  # "All", the default
        assert {s["deployment_environment"] for s in series} == {values["environment"]}


@pytest.mark.parametrize(
    ("board", "query"),
    [(b, q) for b, q in PROMQL if WEEK_AGO not in q.expr and q.panel != ALERTS_PANEL],
    ids=lambda v: v.panel if isinstance(v, Query) else v,
)
def test_query_returns_a_series(
    prometheus: Prometheus, variables: dict[str, dict[str, str]], board: str, query: Query
) -> None:
    expr = _expr(board, query, variables)
    samples = prometheus.query(expr)
    assert samples, f"{query.dashboard} / {query.panel}: no series for\n{expr}"
    assert [s for s in samples if math.isfinite(s.value)], (
        f"{query.dashboard} / {query.panel}: only NaN/Inf for\n{expr}\n{samples}"
    )


def test_no_panel_reads_zero_when_there_is_no_data() -> None:
    assert not [q.panel for _, q in PROMQL if "vector(0)" in q.expr]


def test_one_failure_of_each_kind_reads_exactly_one(
    prometheus: Prometheus, variables: dict[str, dict[str, str]]
) -> None:
    """The degraded instances failed exactly once each (degraded_apps): a sign-up and a record
    not saved (two 503 answers), and one event whose publish failed."""
    expected = {
        (STAFF, "Sign-ups that could not be saved"): 1,
        (STAFF, "Calls, messages or notes that could not be saved"): 1,
        (STAFF, "Requests the system could not answer"): 2,
        ("service-health.json", "Events whose first publish failed"): 1,
    }
    got = {key: _value(prometheus, _expr(key[0], _panel(*key), variables)) for key in expected}
    assert got == expected


def test_known_traffic_reads_as_exact_whole_numbers(
    prometheus: Prometheus, variables: dict[str, dict[str, str]], ledger: Ledger
) -> None:
    expected = {
        "New patients in the last hour": ledger.signups["created"],
        "New patients today": ledger.signups["created"],
        "New patients this week": ledger.signups["created"],
        "Sign-up attempts with an email already registered today": ledger.signups["duplicate"],
        "Records looked up but not found today": ledger.lookups["not_found"],
        "Calls started today": ledger.records["call_started", "created"],
        "Calls ended today": ledger.records["call_ended", "created"],
        "Messages today": ledger.records["message", "created"],
        "Notes today": ledger.records["note", "created"],
        "Calls in progress now": ledger.records["call_started", "created"]
        - ledger.records["call_ended", "created"],
    }
    assert all(count > 0 for name, count in expected.items() if name != "Calls in progress now")
    got = {
        name: _value(prometheus, _expr(STAFF, _panel(STAFF, name), variables)) for name in expected
    }
    assert got == expected


def test_bars_add_up_to_the_exact_total(
    prometheus: Prometheus, variables: dict[str, dict[str, str]], ledger: Ledger
) -> None:
    """The bar chart's bars, evaluated over the last hour at its $__interval steps, add up to
    every sign-up: no extrapolated fractions, nothing counted twice."""
    query = _panel(STAFF, "New patients over time")
    values = {**variables[STAFF], **builtins(query.dashboard_from, query.panel_json, _now())}
    step = int(values["__interval"].removesuffix("s"))
    bars = prometheus.query_range(substitute(query.expr, values), step=step, duration_s=3600)
    assert all(value == int(value) for value in bars)
    assert sum(bars) == ledger.signups["created"]


def test_an_sqs_outage_is_a_backlog_that_drains_to_zero(
    prometheus: Prometheus, variables: dict[str, dict[str, str]], degraded_apps: Degraded
) -> None:
    waiting = _expr(STAFF, _panel(STAFF, "Updates waiting to be passed on"), variables)
    oldest = _expr(STAFF, _panel(STAFF, "Oldest update waiting"), variables)
    assert poll(lambda: _value(prometheus, waiting), until=lambda v: v == 1, timeout=60) == 1
    assert _value(prometheus, oldest) >= 10  # the drain's minimum age

    degraded_apps.sqs.clear()

    assert poll(lambda: _value(prometheus, waiting), until=lambda v: v == 0, timeout=60) == 0
    assert _value(prometheus, oldest) == 0
    # Several drains retried the event: it is still one failed publish, not one per attempt.
    failed = _panel("service-health.json", "Events whose first publish failed")
    assert _value(prometheus, _expr("service-health.json", failed, variables)) == 1


def test_the_worker_row_shows_the_worker(
    prometheus: Prometheus, variables: dict[str, dict[str, str]], ledger: Ledger
) -> None:
    board = "service-health.json"
    published = sum(
        count for (_, outcome), count in ledger.publishes.items() if outcome == "published"
    )
    processed = poll(
        lambda: _value(prometheus, _expr(board, _panel(board, "Events processed"), variables)),
        until=lambda v: v >= published,
        timeout=60,
    )
    assert processed >= published
    assert _value(prometheus, _expr(board, _panel(board, "Events dead-lettered"), variables)) == 0
    depth = prometheus.query(_expr(board, _panel(board, "Queue depth"), variables))
    assert {s.labels["queue"] for s in depth} == {"events", "dead_letter"}
    assert [s.value for s in depth if s.labels["queue"] == "dead_letter"] == [0]
