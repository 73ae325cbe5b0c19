"""promtool (Debian's `prometheus` package) over the rules file and its unit tests."""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RULES_FILE = REPO / "alerts" / "logger-app.rules.yaml"
TESTS_DIR = Path(__file__).resolve().parent
TEST_FILES = sorted(TESTS_DIR.glob("*.test.yaml"))
# A recorded metric name, as the alerts read it.
_RECORDED = re.compile(r"\b[a-z_]+:[a-z_]+:[a-z0-9_]+\b")


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(
            "promtool is not installed: scripts/ensure-e2e-tools.sh installs Debian's "
            "`prometheus` package (make test does)",
            pytrace=False,
        )
    return found


def load_yaml(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def load_rules(path: Path = RULES_FILE) -> dict[str, Any]:
    return load_yaml(path)


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], capture_output=True, text=True, check=False, timeout=timeout
    )


def focus(rules: dict[str, Any], subject: str) -> tuple[dict[str, Any], set[str], set[str]]:
    """The rules one subject (an alert name, or a recorded metric) needs, and the alert names
    and recorded names whose tests are about it. A recorded metric is judged by the checks of
    its values (each alert reading it has tests of its own).

    Other rules go, and with them the time promtool would spend evaluating them."""
    records = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    if subject in records:
        alerts, recorded = set(), {subject}
    else:
        alerts, recorded = {subject}, set()
    needed = recorded | {
        name
        for g in rules["groups"]
        for r in g["rules"]
        if r.get("alert") in alerts
        for name in _RECORDED.findall(r["expr"])
    }
    groups = []
    for group in rules["groups"]:
        kept = [r for r in group["rules"] if r.get("alert") in alerts or r.get("record") in needed]
        if kept:
            groups.append({**group, "rules": kept})
    return {"groups": groups}, alerts, recorded


def focused_tests(document: dict[str, Any], alerts: set[str], recorded: set[str]) -> dict[str, Any]:
    """A unit-test file reduced to the checks about those alerts and recorded metrics."""
    tests = []
    for test in document["tests"]:
        alert_checks = [c for c in test.get("alert_rule_test", []) if c["alertname"] in alerts]
        expr_checks = [
            c
            for c in test.get("promql_expr_test", [])
            if recorded & set(_RECORDED.findall(c["expr"]))
        ]
        if alert_checks or expr_checks:
            reduced = {
                k: v for k, v in test.items() if k not in ("alert_rule_test", "promql_expr_test")
            }
            if alert_checks:
                reduced["alert_rule_test"] = alert_checks
            if expr_checks:
                reduced["promql_expr_test"] = expr_checks
            tests.append(reduced)
    return {**document, "tests": tests}


def run_focused(
    rules: dict[str, Any], subject: str, workdir: Path
) -> subprocess.CompletedProcess[str]:
    """`promtool test rules` on the checks about `subject`, against `rules` reduced to what
    the subject needs (the real rules, or a mutant of them)."""
    reduced, alerts, recorded = focus(rules, subject)
    rules_path = workdir / "rules.yaml"
    rules_path.write_text(yaml.safe_dump(reduced, sort_keys=False), encoding="utf-8")
    copies = []
    for path in TEST_FILES:
        document = focused_tests(load_yaml(path), alerts, recorded)
        if document["tests"]:
            document["rule_files"] = [str(rules_path)]
            copy = workdir / path.name
            copy.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
            copies.append(str(copy))
    assert copies, f"no unit test is about {subject}"
    return run("test", "rules", *copies)
