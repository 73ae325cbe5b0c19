"""The error-budget panels (dashboards/slo.py): on the engineers' dashboard, per SLO, the budget
left, the burn rate now and how long the budget lasts; on the staff dashboard, one plain
sentence per promise with its number and the promise itself. Their queries run on the e2e
Prometheus, which evaluates the SLO rules generated from the spec, after real traffic and one
real failure of each kind: every SLO of the spec shows, with the numbers Sloth recorded and the
objective the spec says."""

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from dashboards.render import OUTPUT
from dashboards.slo import PROMISES, SPEC_FILE, slo_names
from tests.dashboards.fixtures import Degraded
from tests.dashboards.grafana_time import builtins
from tests.dashboards.queries import Query, panels, queries, substitute
from tests.dashboards.variables import resolve
from tests.e2e.prometheus import Prometheus, Sample
from tests.e2e.traffic import Traffic

HEALTH = json.loads((OUTPUT / "service-health.json").read_text(encoding="utf-8"))
STAFF = json.loads((OUTPUT / "patients-live.json").read_text(encoding="utf-8"))
SPEC: dict[str, Any] = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
OBJECTIVES = {slo["name"]: slo["objective"] for slo in SPEC["slos"]}
ENGINEERS = ("Error budget left (30 days)", "Burn rate now (5 minutes)")
LASTS = "Budget lasts, at the current burn rate"
PROMISES_PANEL = "Our promises to patients"
JARGON = ("promql", "logql", "rate(", "5xx", "http", "p95", "latency", "sqs", "dynamodb", "slo")


def _panel(board: dict[str, Any], title: str) -> dict[str, Any]:
    [panel] = [p for p in panels(board) if p.get("title") == title]
    return panel


def _queries(board: dict[str, Any], title: str) -> list[Query]:
    return [q for q in queries(board) if q.panel == title]


def test_every_slo_of_the_spec_has_a_sentence_and_one_query_on_the_staff_dashboard() -> None:
    assert slo_names() == [slo["name"] for slo in SPEC["slos"]]
    assert set(PROMISES) == set(OBJECTIVES)
    panel = _panel(STAFF, PROMISES_PANEL)
    legends = [target["legendFormat"] for target in panel["targets"]]
    assert legends == [
        f"{PROMISES[name]} (promise: {{{{sloth_objective}}}} %)" for name in OBJECTIVES
    ]
    for target, name in zip(panel["targets"], OBJECTIVES, strict=True):
        assert f'sloth_slo="{name}"' in target["expr"]
        assert target["instant"] is True


def test_the_staff_sentences_are_plain_words() -> None:
    panel = _panel(STAFF, PROMISES_PANEL)
    for text in [panel["title"], panel["description"], *PROMISES.values()]:
        assert not [term for term in JARGON if term in text.lower()], text
    assert panel["options"]["textMode"] == "value_and_name"
    assert panel["fieldConfig"]["defaults"]["unit"] == "percent"


def test_the_engineers_see_each_budget_its_burn_rate_and_how_long_it_lasts() -> None:
    for title in (*ENGINEERS, LASTS):
        [target] = _panel(HEALTH, title)["targets"]
        assert target["legendFormat"] == "{{sloth_slo}}"
    units = {title: _panel(HEALTH, title)["fieldConfig"]["defaults"]["unit"] for title in ENGINEERS}
    assert units == {ENGINEERS[0]: "percentunit", ENGINEERS[1]: "suffix:x"}
    assert _panel(HEALTH, LASTS)["fieldConfig"]["defaults"]["unit"] == "s"


def _run(prometheus: Prometheus, board: dict[str, Any], query: Query) -> list[Sample]:
    values = resolve(board, prometheus.url)
    values.update(builtins(query.dashboard_from, query.panel_json, datetime.now(UTC)))
    return prometheus.query(substitute(query.expr, values))


def _recorded(prometheus: Prometheus, metric: str) -> dict[str, float]:
    return {
        s.labels["sloth_slo"]: s.value
        for s in prometheus.query(f'{metric}{{deployment_environment="e2e"}}')
    }


@pytest.mark.e2e
def test_the_engineers_panels_show_every_slo_with_sloths_numbers(
    prometheus: Prometheus, dashboard_traffic: Traffic, degraded_apps: Degraded
) -> None:
    [left_query] = _queries(HEALTH, ENGINEERS[0])
    left = {s.labels["sloth_slo"]: s.value for s in _run(prometheus, HEALTH, left_query)}
    assert set(left) == set(OBJECTIVES)
    # The panel reads Sloth's recording as it is: 1 - ratio over 30 days / budget.
    ratios = _recorded(prometheus, "slo:sli_error:ratio_rate30d")
    for name, value in left.items():
        budget = 1 - OBJECTIVES[name] / 100
        assert value == pytest.approx(1 - ratios[name] / budget, rel=1e-3, abs=1e-3), name

    [burn_query] = _queries(HEALTH, ENGINEERS[1])
    burn = {s.labels["sloth_slo"]: s.value for s in _run(prometheus, HEALTH, burn_query)}
    assert set(burn) == set(OBJECTIVES)
    assert all(math.isfinite(value) and value >= 0 for value in burn.values()), burn

    [lasts_query] = _queries(HEALTH, LASTS)
    lasts = {s.labels["sloth_slo"]: s.value for s in _run(prometheus, HEALTH, lasts_query)}
    assert set(lasts) == set(OBJECTIVES)
    for name, seconds in lasts.items():
        assert 0 <= seconds <= 30 * 86400, (name, seconds)
        if left[name] <= 0:
            assert seconds == 0, name  # spent: nothing lasts
        elif burn[name] == 0:
            assert seconds == 30 * 86400, name  # nothing burning: it lasts the period


@pytest.mark.e2e
def test_each_promise_reads_its_share_kept_and_the_spec_s_objective(
    prometheus: Prometheus, dashboard_traffic: Traffic, degraded_apps: Degraded
) -> None:
    ratios = _recorded(prometheus, "slo:sli_error:ratio_rate30d")
    promises = _queries(STAFF, PROMISES_PANEL)
    assert len(promises) == len(OBJECTIVES)
    for query, name in zip(promises, OBJECTIVES, strict=True):
        [sample] = _run(prometheus, STAFF, query)
        assert sample.labels["sloth_slo"] == name
        # What the sentence says: "(promise: 99.9 %)", from the spec through Sloth's info.
        assert float(sample.labels["sloth_objective"]) == OBJECTIVES[name]
        assert sample.value == pytest.approx(100 * (1 - ratios[name]), abs=1e-2)
        assert 0 <= sample.value <= 100
