"""A dead pipeline must not look like a quiet day: with the collector stopped, the "Data is
current" indicator turns red and the staff numbers give way to "No data — telemetry is not
arriving". Runs last in this directory: it stops the shared collector for over three minutes
(the real staleness limit: metrics arrive every minute in production), then starts it again.
"""

from datetime import UTC, datetime

import pytest

from dashboards.datasources import PROMETHEUS_UID
from dashboards.panels import STALE_AFTER_SECONDS
from tests.dashboards.fixtures import Degraded
from tests.dashboards.grafana_time import builtins
from tests.dashboards.queries import Query, committed_boards, queries, substitute
from tests.dashboards.variables import resolve
from tests.e2e.collector import LocalCollector
from tests.e2e.processes import poll
from tests.e2e.prometheus import Prometheus
from tests.e2e.traffic import Traffic

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

BOARDS = committed_boards()


def _expr(board: str, query: Query, prometheus: Prometheus) -> str:
    values = resolve(BOARDS[board], prometheus.url)
    values.update(builtins(query.dashboard_from, query.panel_json, datetime.now(UTC)))
    return substitute(query.expr, values)


def _stat_queries(board: str) -> list[Query]:
    """The stat panels' queries, but those about a week ago: the stack has no such history."""
    stats = {p["title"] for p in BOARDS[board]["panels"] if p["type"] == "stat"}
    return [
        q
        for q in queries(BOARDS[board])
        if q.panel in stats and q.datasource == PROMETHEUS_UID and "offset 1w" not in q.expr
    ]


def test_a_stopped_collector_shows_stale_not_zero(
    prometheus: Prometheus,
    collector: LocalCollector,
    dashboard_traffic: Traffic,
    degraded_apps: Degraded,
) -> None:
    staff = "patients-live.json"
    [age] = [q for q in _stat_queries(staff) if q.panel == "Data is current"]
    numbers = [q for q in _stat_queries(staff) if q.panel != "Data is current"]
    empty_before = [q.panel for q in numbers if not prometheus.query(_expr(staff, q, prometheus))]
    assert not empty_before
    [before] = prometheus.query(_expr(staff, age, prometheus))
    assert before.value < STALE_AFTER_SECONDS

    collector.stop()
    try:
        stale = poll(
            lambda: prometheus.query(_expr(staff, age, prometheus)),
            until=lambda samples: bool(samples) and samples[0].value >= STALE_AFTER_SECONDS,
            timeout=STALE_AFTER_SECONDS + 60,
            every=5,
        )
        # Red: the panel's threshold is STALE_AFTER_SECONDS.
        assert stale
        assert stale[0].value >= STALE_AFTER_SECONDS
        for board in BOARDS:
            for query in _stat_queries(board):
                if query.panel == "Data is current":
                    continue
                got = prometheus.query(_expr(board, query, prometheus))
                assert got == [], f"{board} / {query.panel} still shows {got}"
    finally:
        collector.start()
