"""The staff panel of active alerts (dashboards/alerts.py): every alert of the rules files in the
staff's words, scoped like every other query, on the data source both Prometheus and AMP
provide. Its query runs on real alert state in tests/alerts/test_e2e_alerts.py."""

import json
from typing import Any

import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards.alerts import QUERY, RULES_FILES, active_alerts_panel, alert_words
from dashboards.datasources import PROMETHEUS_UID
from tests.e2e.rules import RULES_FILES as LOADED_RULES_FILES

JARGON = ("promql", "logql", "rate(", "5xx", "http", "p95", "latency", "sqs", "dynamodb")


def _panel() -> dict[str, Any]:
    panel: dict[str, Any] = json.loads(json.dumps(active_alerts_panel().build(), cls=JSONEncoder))
    return panel


def _override(panel: dict[str, Any], field: str) -> dict[str, Any]:
    [override] = [o for o in panel["fieldConfig"]["overrides"] if o["matcher"]["options"] == field]
    return {p["id"]: p["value"] for p in override["properties"]}


def test_every_alert_of_the_rules_files_is_shown_in_its_summary() -> None:
    # The files every Prometheus loads: the symptom alerts and the generated SLO alerts.
    assert RULES_FILES == LOADED_RULES_FILES
    summaries = {
        r["alert"]: r["annotations"]["summary"]
        for path in RULES_FILES
        for g in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for r in g["rules"]
        if "alert" in r
    }
    assert {"SignupsFailing", "SignupsErrorBudgetBurn"} <= set(summaries)
    [mapping] = _override(_panel(), "alertname")["mappings"]
    assert mapping["type"] == "value"
    assert {name: option["text"] for name, option in mapping["options"].items()} == summaries
    assert alert_words() == summaries


def test_the_panel_reads_firing_alerts_and_since_when_from_the_prometheus_data_source() -> None:
    panel = _panel()
    [target] = panel["targets"]
    assert target["datasource"]["uid"] == PROMETHEUS_UID
    assert target["expr"] == QUERY
    assert 'ALERTS{alertstate="firing"}' in QUERY
    assert "ALERTS_FOR_STATE" in QUERY
    assert "$environment" in QUERY
    assert "$service" in QUERY
    assert target["instant"] is True
    assert target["format"] == "table"
    since = _override(panel, "Value")
    assert since["unit"].startswith("dateTime")


def test_the_panel_speaks_plainly() -> None:
    panel = _panel()
    assert panel["type"] == "table"
    words = f"{panel['title']} {panel['description']}".lower()
    assert not [term for term in JARGON if term in words]
    # Not a failure counter: the staff failure panels' red-from-one rule is not about it.
    assert "could not" not in panel["title"]
    assert "not passed" not in panel["title"]
