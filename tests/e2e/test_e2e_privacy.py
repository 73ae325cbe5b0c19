"""Emails and names sent to the app never reach a metric label, a span or a log line."""

from collections.abc import Callable

import pytest

from tests.collector.otelcol import MAY_BUILD_COLLECTOR
from tests.e2e.app import App
from tests.e2e.collector import LocalCollector
from tests.e2e.processes import poll
from tests.e2e.prometheus import Prometheus
from tests.e2e.traces import Span
from tests.e2e.traffic import Ledger, Traffic

pytestmark = [pytest.mark.e2e, MAY_BUILD_COLLECTOR]


def _leaks(text: str, ledger: Ledger) -> list[str]:
    lowered = text.lower()
    return sorted(value for value in ledger.personal_data if value.lower() in lowered)


def test_no_metric_label_carries_personal_data(
    prometheus: Prometheus, traffic: Traffic, ledger: Ledger
) -> None:
    series = poll(
        lambda: prometheus.series('{__name__=~".+"}'),
        until=lambda found: any(s["__name__"] == "logger_app_signups_total" for s in found),
    )
    values = "\n".join(value for labels in series for value in labels.values())
    assert ledger.personal_data
    assert _leaks(values, ledger) == []
    assert "@" not in values


def test_no_span_carries_personal_data(
    traffic: Traffic, ledger: Ledger, spans: Callable[[], list[Span]], collector: LocalCollector
) -> None:
    poll(spans, until=lambda found: any(s.attributes.get("http.route") for s in found))
    # The raw export, not the parsed spans: names, attributes, events, resource, everything.
    exported = "\n".join(path.read_text() for path in collector.trace_files if path.exists())
    assert '"/v1/signups"' in exported
    assert _leaks(exported, ledger) == []


def test_no_log_line_carries_personal_data(app: App, traffic: Traffic, ledger: Ledger) -> None:
    output = app.process.output()
    assert "signup.created" in output
    assert _leaks(output, ledger) == []
