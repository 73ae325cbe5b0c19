"""The rules files: valid for promtool, every unit test passing, and the conventions every alert
follows (severity, plain-words summary, numbers in the description, a runbook heading that
exists) checked for each rule, hand-written or generated from the SLO spec, so a new rule cannot
skip them."""

import re
import subprocess
from typing import Any

import pytest

from tests.alerts.promtool import (
    REPO,
    RULES_FILES,
    SLO_RULES_FILE,
    TEST_FILES,
    Subject,
    load_rules,
    load_yaml,
    run,
    slo_names,
    slo_of,
)
from tests.deploy.helpers import require_tool
from tests.e2e.rules import ROUTING_FILE

RULES = load_rules()
ALERTS = [r for g in RULES["groups"] for r in g["rules"] if "alert" in r]
RECORDS = [r for g in RULES["groups"] for r in g["rules"] if "record" in r]
GENERATED = load_rules((SLO_RULES_FILE,))
SLOS = slo_names(RULES)
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


def test_promtool_accepts_the_rules_files() -> None:
    result = run("check", "rules", *map(str, RULES_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_unit_test_passes() -> None:
    assert {p.name for p in TEST_FILES} >= {
        "symptoms.test.yaml",
        "slo.test.yaml",
        "slo-6h.test.yaml",
        "slo-3d.test.yaml",
        "slo-budget.test.yaml",
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
    # Sloth gives each of its alerts an engineers' `title` as well.
    generated = {"title"} if slo_of(rule) else set()
    assert set(annotations) == {"summary", "description", "runbook_url", *generated}
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


@pytest.mark.parametrize("rule", RECORDS, ids=lambda r: str(Subject.of(r)))
def test_every_recording_rule_has_its_values_checked(rule: dict[str, Any]) -> None:
    """Each recording of each SLO: a check of its value that is not 0 (doubling 0 shows
    nothing), and for a window, one before its error rate changes too (0, not no data)."""
    slo = slo_of(rule)
    checks = [
        check
        for test in _tests()
        for check in test.get("promql_expr_test", [])
        if check["expr"].split("{")[0] == rule["record"]
    ]
    values = [
        sample["value"]
        for check in checks
        for sample in check["exp_samples"]
        if slo is None or f'sloth_slo="{slo}"' in sample["labels"]
    ]
    assert any(value != 0 for value in values), Subject.of(rule)
    if "sloth_window" in rule["labels"] and rule["record"] != "slo:sli_error:ratio_rate30d":
        assert 0 in values, f"{Subject.of(rule)}: no check before the errors start"


@pytest.mark.parametrize("rule", [*RECORDS, *ALERTS], ids=lambda r: r.get("record") or r["alert"])
def test_every_window_holds_several_production_samples(rule: dict[str, Any]) -> None:
    for number, unit in re.findall(r"\[(\d+)([smhd])\]", rule["expr"]):
        assert int(number) * _UNITS[unit] >= MIN_WINDOW_SECONDS, rule["expr"]


def test_the_slo_unit_tests_evaluate_recordings_before_the_alerts_that_read_them() -> None:
    """Sloth writes each SLO's error ratios, its budget recordings and its alerts in three
    groups. Prometheus and AMP evaluate groups independently (an alert may read ratios one
    interval old); promtool in an unspecified order unless told: the SLO unit tests fix the
    order to the generated file's, so that each expected minute is exact."""
    order = [group["name"] for group in GENERATED["groups"]]
    for path in TEST_FILES:
        document = load_yaml(path)
        checks = [c for t in document["tests"] for c in t.get("alert_rule_test", [])]
        if any(c["exp_alerts"] and c["alertname"] in _generated_alerts() for c in checks):
            assert document.get("group_eval_order") == order, path.name


def _generated_alerts() -> set[str]:
    return {r["alert"] for g in GENERATED["groups"] for r in g["rules"] if "alert" in r}


def test_the_slo_recordings_are_kept_per_environment_and_service_never_per_task() -> None:
    """Cardinality: every series an SLO recording reads is summed by deployment_environment
    and service_name; Sloth adds only its constant labels (sloth_id, sloth_service, sloth_slo,
    sloth_window) and the spec's (owner). Four SLOs make under 70 series per environment."""
    for group in GENERATED["groups"]:
        for rule in group["rules"]:
            for selector in re.findall(r"\b(http_server_\w+)\{", rule["expr"]):
                assert re.search(
                    rf"sum by \(deployment_environment, service_name\) \(rate\({selector}",
                    rule["expr"],
                ), (rule.get("record"), selector)
            labels = set(rule.get("labels", {}))
            assert labels <= {
                "owner",
                "severity",
                "sloth_id",
                "sloth_mode",
                "sloth_objective",
                "sloth_service",
                "sloth_severity",
                "sloth_slo",
                "sloth_spec",
                "sloth_version",
                "sloth_window",
            }, labels


def test_every_slo_has_a_page_and_a_ticket() -> None:
    for slo in SLOS:
        severities = {r["labels"]["severity"] for r in ALERTS if slo_of(r) == slo}
        assert severities == {"page", "ticket"}, slo


@pytest.mark.parametrize(
    "rule",
    ALERTS,
    ids=lambda r: f"{r['alert']}-{r['labels']['severity']}-{r['labels'].get('burn')}",
)
def test_alertmanager_routes_every_alert_to_the_receiver_of_its_severity(
    rule: dict[str, Any],
) -> None:
    """With all its labels (Sloth's sloth_severity, sloth_slo, ... for the SLO alerts), as
    alerts/alertmanager.yml routes them everywhere (compose, e2e, AMP)."""
    labels = {**rule["labels"], "deployment_environment": "prod", "service_name": "logger-app"}
    result = subprocess.run(
        [
            require_tool("amtool", "apt-get install prometheus-alertmanager (Debian)"),
            "config",
            "routes",
            "test",
            f"--config.file={ROUTING_FILE}",
            f"alertname={rule['alert']}",
            *(f"{name}={value}" for name, value in labels.items()),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == rule["labels"]["severity"]


def test_no_alert_is_per_task() -> None:
    """Aggregated over tasks (instance): a problem of the service is one alert, not one per
    task. Every series an alert reads is summed, maxed or absent_over_time'd."""
    for rule in ALERTS:
        assert "instance" not in rule["expr"], rule["alert"]
        for selector in re.findall(r"\b(logger_app_\w+|http_server_\w+)\{", rule["expr"]):
            assert re.search(
                rf"(sum|max) by \([^)]*\) \((rate|increase|delta)?\(?{selector}", rule["expr"]
            ), (rule["alert"], selector)
