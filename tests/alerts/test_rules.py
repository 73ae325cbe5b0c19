"""The rules file: valid for promtool, every unit test passing, and the conventions every alert
follows (severity, plain-words summary, numbers in the description, a runbook heading that
exists) checked for each rule, so a new rule cannot skip them."""

import re
from typing import Any

import pytest

from tests.alerts.promtool import REPO, RULES_FILE, TEST_FILES, load_rules, load_yaml, run

RULES = load_rules()
ALERTS = [r for g in RULES["groups"] for r in g["rules"] if "alert" in r]
RECORDS = [r for g in RULES["groups"] for r in g["rules"] if "record" in r]
RUNBOOK = REPO / "docs" / "runbook.md"
# Words staff do not use (the staff dashboard's own test has the same list).
JARGON = ("promql", "5xx", "http", "p95", "latency", "sqs", "dynamodb", "rate(", "slo", "budget")
# Production metrics arrive every 60 s: a window needs several samples.
MIN_WINDOW_SECONDS = 5 * 60
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _tests() -> list[dict[str, Any]]:
    return [test for path in TEST_FILES for test in load_yaml(path)["tests"]]


def _github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_promtool_accepts_the_rules_file() -> None:
    result = run("check", "rules", str(RULES_FILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_unit_test_passes() -> None:
    assert {p.name for p in TEST_FILES} >= {
        "symptoms.test.yaml",
        "slo.test.yaml",
        "slo-6h.test.yaml",
        "slo-3d.test.yaml",
        "quiet.test.yaml",
        "quiet-night.test.yaml",
    }
    result = run("test", "rules", *map(str, TEST_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("rule", ALERTS, ids=lambda r: f"{r['alert']}-{r['labels']['severity']}")
def test_every_alert_says_how_urgent_what_happens_how_much_and_what_to_do(
    rule: dict[str, Any],
) -> None:
    assert rule["labels"]["severity"] in {"page", "ticket"}
    annotations = rule["annotations"]
    assert set(annotations) == {"summary", "description", "runbook_url"}
    summary = annotations["summary"]
    # Shown to staff as written (the dashboard maps alert names to it): no template, no jargon.
    assert "{{" not in summary
    assert summary[0].isupper()
    assert not summary.endswith(".")
    words = [w for w in JARGON if re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", summary.lower())]
    assert not words, summary
    assert "{{" in annotations["description"]
    if rule["alert"] != "TelemetryAbsent":  # no series, so no value: it says "5 minutes"
        assert "$value" in annotations["description"]


def test_every_runbook_link_is_a_heading_of_the_runbook() -> None:
    headings = {
        _github_anchor(line.lstrip("#"))
        for line in RUNBOOK.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    for rule in ALERTS:
        path, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert path == "docs/runbook.md"
        assert anchor == rule["alert"].lower()
        assert anchor in headings, f"docs/runbook.md has no heading {rule['alert']}"


def test_alerts_sharing_a_name_share_their_words() -> None:
    """The staff dashboard shows one summary per alert name."""
    summaries: dict[str, set[str]] = {}
    for rule in ALERTS:
        summaries.setdefault(rule["alert"], set()).add(rule["annotations"]["summary"])
    assert all(len(words) == 1 for words in summaries.values()), summaries


@pytest.mark.parametrize(
    "rule",
    ALERTS,
    ids=lambda r: f"{r['alert']}-{r['labels']['severity']}-{r['labels'].get('burn')}",
)
def test_every_alert_fires_in_a_unit_test(rule: dict[str, Any]) -> None:
    wanted = {k: rule["labels"][k] for k in ("severity", "burn") if k in rule["labels"]}
    fired = [
        alert
        for test in _tests()
        for check in test.get("alert_rule_test", [])
        if check["alertname"] == rule["alert"]
        for alert in check["exp_alerts"]
        if wanted.items() <= alert["exp_labels"].items()
    ]
    assert fired, f"no unit test expects {rule['alert']} {wanted} to fire"


def test_every_alert_is_quiet_on_a_normal_day_and_on_a_quiet_night() -> None:
    names = {rule["alert"] for rule in ALERTS}
    for path in ("quiet.test.yaml", "quiet-night.test.yaml"):
        [test] = load_yaml(path=TEST_FILES[0].parent / path)["tests"]
        checks = test["alert_rule_test"]
        assert all(check["exp_alerts"] == [] for check in checks)
        assert {check["alertname"] for check in checks} == names, path


@pytest.mark.parametrize("rule", RECORDS, ids=lambda r: r["record"])
def test_every_recording_rule_has_its_values_checked(rule: dict[str, Any]) -> None:
    checks = [
        check
        for test in _tests()
        for check in test.get("promql_expr_test", [])
        if check["expr"].split("{")[0] == rule["record"] and check["exp_samples"]
    ]
    # Twice: before and after a change of the error rate, so that the window's length shows.
    assert len(checks) >= 2 or rule["record"].endswith("3d"), rule["record"]
    assert checks, rule["record"]


@pytest.mark.parametrize("rule", [*RECORDS, *ALERTS], ids=lambda r: r.get("record") or r["alert"])
def test_every_window_holds_several_production_samples(rule: dict[str, Any]) -> None:
    for number, unit in re.findall(r"\[(\d+)([smhd])\]", rule["expr"]):
        assert int(number) * _UNITS[unit] >= MIN_WINDOW_SECONDS, rule["expr"]


def test_no_alert_is_per_task() -> None:
    """Aggregated over tasks (instance): a problem of the service is one alert, not one per
    task. Every series an alert reads is summed, maxed or absent_over_time'd."""
    for rule in ALERTS:
        assert "instance" not in rule["expr"], rule["alert"]
        for selector in re.findall(r"\b(logger_app_\w+|http_server_\w+)\{", rule["expr"]):
            assert re.search(
                rf"(sum|max) by \([^)]*\) \((rate|increase|delta)?\(?{selector}", rule["expr"]
            ), (rule["alert"], selector)
