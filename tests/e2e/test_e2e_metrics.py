"""The app's counters and HTTP histogram, read back from Prometheus after the collector's
remote write: names, values and labels as the dashboards will query them."""

from collections import Counter

import pytest

from tests.collector.otelcol import MAY_BUILD_COLLECTOR
from tests.e2e.app import PER_TASK_LABELS
from tests.e2e.processes import poll
from tests.e2e.prometheus import Prometheus
from tests.e2e.semconv import HTTP_DURATION_BUCKET, HTTP_ROUTE_LABEL
from tests.e2e.traffic import Ledger, Traffic

pytestmark = [pytest.mark.e2e, MAY_BUILD_COLLECTOR]


def _by(prometheus: Prometheus, metric: str, *labels: str) -> Counter[tuple[str, ...]]:
    samples = prometheus.query(f"sum by ({', '.join(labels)}) ({metric})")
    return Counter({tuple(s.labels.get(k, "") for k in labels): s.value for s in samples})


def _expect(
    prometheus: Prometheus,
    metric: str,
    labels: tuple[str, ...],
    expected: Counter[tuple[str, ...]],
) -> None:
    got = poll(lambda: _by(prometheus, metric, *labels), until=lambda v: v == expected)
    assert got == expected


def test_signups_by_outcome_equal_what_was_sent(
    prometheus: Prometheus, traffic: Traffic, ledger: Ledger
) -> None:
    expected: Counter[tuple[str, ...]] = Counter(
        {(outcome,): n for outcome, n in ledger.signups.items()}
    )
    assert expected[("duplicate",)]
    assert expected[("replayed",)]
    _expect(prometheus, "logger_app_signups_total", ("outcome",), expected)


def test_records_by_kind_and_outcome(
    prometheus: Prometheus, traffic: Traffic, ledger: Ledger
) -> None:
    expected: Counter[tuple[str, ...]] = Counter({key: n for key, n in ledger.records.items()})
    _expect(prometheus, "logger_app_records_total", ("kind", "outcome"), expected)


def test_record_lookups_by_outcome(
    prometheus: Prometheus, traffic: Traffic, ledger: Ledger
) -> None:
    expected: Counter[tuple[str, ...]] = Counter(
        {(outcome,): n for outcome, n in ledger.lookups.items()}
    )
    assert expected[("not_found",)]
    _expect(prometheus, "logger_app_record_lookups_total", ("outcome",), expected)


def test_queue_publishes_by_event_and_outcome(
    prometheus: Prometheus, traffic: Traffic, ledger: Ledger
) -> None:
    expected: Counter[tuple[str, ...]] = Counter({key: n for key, n in ledger.publishes.items()})
    _expect(prometheus, "logger_app_queue_publishes_total", ("event", "outcome"), expected)


def test_http_server_duration_histogram_per_route(prometheus: Prometheus, traffic: Traffic) -> None:
    routes_sent = {"/v1/signups", "/v1/records", "/v1/records/{id}", "/v1/records/{id}/{timestamp}"}
    query = f'sum by ({HTTP_ROUTE_LABEL}) ({HTTP_DURATION_BUCKET}{{le="+Inf"}})'
    routes = poll(
        lambda: {s.labels.get(HTTP_ROUTE_LABEL, "") for s in prometheus.query(query)},
        until=lambda found: routes_sent <= found,
    )
    assert routes_sent <= routes
    # Routes, not raw paths: no record id may become a label value.
    assert not [route for route in routes if route.count("-") >= 4], routes


def test_series_carry_the_service_identity_without_per_task_labels(
    prometheus: Prometheus, traffic: Traffic
) -> None:
    series = poll(lambda: prometheus.series("logger_app_signups_total"), until=bool)
    assert series
    for labels in series:
        assert labels["job"] == "logger-app"
        assert labels["instance"]  # service.instance.id: one series per process
        assert labels["deployment_environment"] == "e2e"
        assert labels["cloud_region"] == "us-east-1"
        assert not PER_TASK_LABELS & labels.keys(), sorted(labels)
        assert not [name for name in labels if name.startswith(("telemetry_", "process_"))]
