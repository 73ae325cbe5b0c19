"""promtool (Debian's `prometheus` package) over the rules files and their unit tests."""

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.rules import REPO, RULES_FILES, SLO_RULES_FILE, SYMPTOM_RULES_FILE

__all__ = ["REPO", "RULES_FILES", "SLO_RULES_FILE", "SYMPTOM_RULES_FILE"]

TESTS_DIR = Path(__file__).resolve().parent
TEST_FILES = sorted(TESTS_DIR.glob("*.test.yaml"))
# A recorded metric name, as the rules read it.
_RECORDED = re.compile(r"\b[a-z_]+:[a-z_]+:[a-z0-9_]+\b")
_SLO_SELECTOR = re.compile(r'sloth_slo="([^"]+)"')


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


def load_rules(paths: tuple[Path, ...] = RULES_FILES) -> dict[str, Any]:
    """Every rule group of the rules files, in one document (as Prometheus loads them)."""
    return {"groups": [group for path in paths for group in load_yaml(path)["groups"]]}


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], capture_output=True, text=True, check=False, timeout=timeout
    )


def reads(expr: str, name: str) -> bool:
    """Whether the expression reads the metric `name`."""
    return re.search(rf"(?<![\w:]){re.escape(name)}(?![\w:])", expr) is not None


def name_of(rule: dict[str, Any]) -> str:
    return str(rule.get("alert") or rule["record"])


def slo_of(rule: dict[str, Any]) -> str | None:
    """The SLO a generated rule belongs to (Sloth's `sloth_slo`: a label of its recordings, a
    selector of its alerts); None for the hand-written symptom rules."""
    if "sloth_slo" in rule.get("labels", {}):
        return str(rule["labels"]["sloth_slo"])
    found = _SLO_SELECTOR.search(rule["expr"])
    return found.group(1) if found else None


def slo_names(rules: dict[str, Any]) -> set[str]:
    return {slo for g in rules["groups"] for r in g["rules"] if (slo := slo_of(r))}


@dataclass(frozen=True)
class Subject:
    """What a focused run is about: an alert, or a recorded metric, of one SLO (or of none: a
    symptom rule). Sloth names the recordings of every SLO alike (slo:sli_error:ratio_rate5m);
    its `sloth_slo` label tells them apart."""

    name: str
    slo: str | None = None

    @classmethod
    def of(cls, rule: dict[str, Any]) -> "Subject":
        return cls(name_of(rule), slo_of(rule))

    def __str__(self) -> str:
        return f"{self.name} ({self.slo})" if self.slo else self.name


def _mentions(check: dict[str, Any], slos: set[str]) -> set[str]:
    text = str(check)
    return {slo for slo in slos if slo in text}


def focused_tests(
    document: dict[str, Any], subject: Subject, records: set[str], slos: set[str]
) -> tuple[dict[str, Any], set[str]]:
    """A unit-test file reduced to the checks about the subject (its alert's checks, or the
    checks of its recorded metric for its SLO), and the SLOs those checks name."""
    tests = []
    named: set[str] = set()
    for test in document["tests"]:
        alert_checks = [
            c for c in test.get("alert_rule_test", []) if c["alertname"] == subject.name
        ]
        expr_checks = [
            c
            for c in test.get("promql_expr_test", [])
            if subject.name in records
            and reads(c["expr"], subject.name)
            and (subject.slo is None or subject.slo in _mentions(c, slos))
        ]
        for check in alert_checks + expr_checks:
            named |= _mentions(check, slos)
        if alert_checks or expr_checks:
            reduced = {
                k: v for k, v in test.items() if k not in ("alert_rule_test", "promql_expr_test")
            }
            if alert_checks:
                reduced["alert_rule_test"] = alert_checks
            if expr_checks:
                reduced["promql_expr_test"] = expr_checks
            tests.append(reduced)
    return {**document, "tests": tests}, named


def focus(rules: dict[str, Any], subject: Subject, slos: set[str]) -> dict[str, Any]:
    """The rules the subject needs, for the SLOs its checks name: the subject's own rules, and
    every recording they read, transitively, of the same SLO. Other rules go, and with them
    the time promtool would spend evaluating them."""
    every = [(g, r) for g, group in enumerate(rules["groups"]) for r in group["rules"]]
    wanted = {(subject.name, slo) for slo in slos} | {(subject.name, subject.slo)}
    while True:
        more = {
            (name, slo_of(rule))
            for _, rule in every
            if (name_of(rule), slo_of(rule)) in wanted
            for name in _RECORDED.findall(rule["expr"])
        } - wanted
        if not more:
            break
        wanted |= more
    groups = []
    for index, group in enumerate(rules["groups"]):
        kept = [r for g, r in every if g == index and (name_of(r), slo_of(r)) in wanted]
        if kept:
            groups.append({**group, "rules": kept})
    return {"groups": groups}


def run_focused(
    rules: dict[str, Any], subject: Subject, workdir: Path
) -> subprocess.CompletedProcess[str]:
    """`promtool test rules` on the checks about `subject`, against `rules` reduced to what
    those checks need (the real rules, or a mutant of them)."""
    records = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    slos = slo_names(rules)
    documents = []
    named: set[str] = set()
    for path in TEST_FILES:
        document, mentioned = focused_tests(load_yaml(path), subject, records, slos)
        if document["tests"]:
            documents.append((path, document))
            named |= mentioned
    assert documents, f"no unit test is about {subject}"
    rules_path = workdir / "rules.yaml"
    reduced = focus(rules, subject, named)
    rules_path.write_text(yaml.safe_dump(reduced, sort_keys=False), encoding="utf-8")
    copies = []
    for path, document in documents:
        document["rule_files"] = [str(rules_path)]
        copy = workdir / path.name
        copy.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        copies.append(str(copy))
    return run("test", "rules", *copies)
