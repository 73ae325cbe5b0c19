"""The committed dashboard JSON is exactly what the generator writes, and every panel carries
what its reader needs: a description, a unit, and data sources the provisioning defines."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from dashboards.datasources import LOKI_UID, PROMETHEUS_UID
from dashboards.panels import NO_DATA
from dashboards.render import DASHBOARDS, OUTPUT, REPO, rendered
from tests.dashboards.queries import panels, targets

COMMITTED = sorted(OUTPUT.glob("*.json"))


def test_committed_json_equals_a_fresh_generation() -> None:
    fresh = rendered()
    assert {path.name for path in COMMITTED} == set(fresh), (
        "grafana/dashboards/ and the generator disagree on which dashboards exist"
    )
    stale = [p.name for p in COMMITTED if p.read_text(encoding="utf-8") != fresh[p.name]]
    assert not stale, f"regenerate with `python -m dashboards` (make dashboards): {stale}"


def _load(path: Path) -> dict[str, Any]:
    board: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return board


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_every_panel_has_a_description_and_every_data_panel_a_unit(path: Path) -> None:
    board = _load(path)
    for panel in panels(board):
        if panel["type"] == "row":
            continue
        assert panel.get("description", "").strip(), f"{panel['title']}: no description"
        if panel["type"] in {"stat", "timeseries"}:
            unit = panel["fieldConfig"]["defaults"].get("unit")
            assert unit, f"{panel['title']}: no unit"


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_queries_use_only_the_provisioned_data_source_uids(path: Path) -> None:
    board = _load(path)
    uids = {target["datasource"]["uid"] for target in targets(board)}
    uids |= {v["datasource"]["uid"] for v in board["templating"]["list"] if v.get("datasource")}
    assert uids <= {PROMETHEUS_UID, LOKI_UID}, uids


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_environment_and_service_variables_scope_every_query(path: Path) -> None:
    board = _load(path)
    names = {v["name"] for v in board["templating"]["list"]}
    assert {"environment", "service"} <= names
    for target in targets(board):
        assert "$environment" in target["expr"], target["expr"]
        assert "$service" in target["expr"], target["expr"]


def test_the_staff_dashboard_shows_no_query_language_and_no_jargon() -> None:
    board = _load(OUTPUT / "patients-live.json")
    jargon = ("promql", "logql", "rate(", "5xx", "http", "p95", "latency", "sqs", "dynamodb")
    for panel in panels(board):
        words = f"{panel['title']} {panel.get('description', '')}".lower()
        assert not [term for term in jargon if term in words], panel["title"]
    assert board["uid"] == "logger-app-patients"
    assert set(DASHBOARDS) == {"patients-live.json", "service-health.json"}


def test_staff_failure_panels_turn_red_from_the_first_failure() -> None:
    board = _load(OUTPUT / "patients-live.json")
    failures = [p for p in panels(board) if "could not" in p["title"] or "not passed" in p["title"]]
    assert len(failures) >= 3
    for panel in failures:
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert steps[0]["color"] == "green"
        assert steps[-1] == {"color": "red", "value": 1}, panel["title"]


def test_staff_failure_boxes_link_to_the_log_lines_behind_them() -> None:
    board = _load(OUTPUT / "patients-live.json")
    health = _load(OUTPUT / "service-health.json")
    failures = [p for p in panels(board) if "could not" in p["title"] or "waiting to" in p["title"]]
    assert len(failures) == 4
    assert "event" in {v["name"] for v in health["templating"]["list"]}
    for panel in failures:
        [link] = panel["links"]
        assert link["url"].startswith(f"/d/{health['uid']}?var-event="), panel["title"]


@pytest.mark.parametrize("path", sorted(OUTPUT.glob("*.json")), ids=lambda p: p.name)
def test_no_number_reads_zero_when_nothing_arrives(path: Path) -> None:
    for panel in panels(_load(path)):
        if panel["type"] == "stat":
            assert panel["fieldConfig"]["defaults"]["noValue"] == NO_DATA, panel["title"]


@pytest.mark.parametrize("path", sorted(OUTPUT.glob("*.json")), ids=lambda p: p.name)
def test_red_limits_are_drawn_on_charts(path: Path) -> None:
    for panel in panels(_load(path)):
        defaults = panel.get("fieldConfig", {}).get("defaults", {})
        colours = [s["color"] for s in defaults.get("thresholds", {}).get("steps", [])]
        if panel["type"] == "timeseries" and "red" in colours:
            assert defaults["custom"]["thresholdsStyle"]["mode"] == "line", panel["title"]


def _panel(board: dict[str, Any], title: str) -> dict[str, Any]:
    [panel] = [p for p in panels(board) if p["title"] == title]
    return panel


def test_staff_see_a_record_clash_as_a_clash_not_as_an_outage() -> None:
    """A record whose id and timestamp are taken (409 record-id-taken, logged as
    record.id_taken, counted as outcome="clash") is its own line and its own box, never the
    storage outage's words nor a red failure box."""
    board = _load(OUTPUT / "patients-live.json")
    [live] = [t["expr"] for t in _panel(board, "Latest activity")["targets"]]
    assert "record[.]id_taken" in live.split("| line_format")[0]
    words = dict(re.findall(r'eq \.event "([^"]+)" \}\}([^{]*)', live))
    clash = words["record.id_taken"]
    assert "not saved" in clash, clash
    assert "send it again" in clash, clash
    assert "storage" not in clash, clash
    assert "went wrong" not in clash, clash
    records_source = (REPO / "src" / "logger_app" / "records.py").read_text(encoding="utf-8")
    assert '"event": "record.id_taken"' in records_source  # the line the words are for

    box = _panel(board, "Calls, messages or notes that clashed with another today")
    [count] = [t["expr"] for t in box["targets"]]
    assert 'outcome="clash"' in count
    colours = {s["color"] for s in box["fieldConfig"]["defaults"]["thresholds"]["steps"]}
    assert "red" not in colours
    failed = _panel(board, "Calls, messages or notes that could not be saved")
    [failures] = [t["expr"] for t in failed["targets"]]
    assert 'outcome="failed"' in failures
    assert "clash" not in failures
