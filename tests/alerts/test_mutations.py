"""Every rule's tests fail when the rule is wrong.

Each mutant (tests/alerts/mutations.py) is a valid rules file that differs from the real rules in
one threshold, window, `for` or expression; `promtool test rules` must reject it. To keep this
quick, each run holds only the checks about the changed rule (its alert, or its recorded metric
of its SLO) and the rules those checks need; test_focused_suites_pass shows that those reduced
runs pass on the real rules, so a failure is the mutant's doing.
"""

from pathlib import Path

import pytest
import yaml

from tests.alerts.mutations import Mutant, mutants
from tests.alerts.promtool import Subject, load_rules, run, run_focused

RULES = load_rules()
MUTANTS = list(mutants(RULES))
SUBJECTS = sorted({m.subject for m in MUTANTS}, key=str)


def test_every_rule_has_mutants() -> None:
    rules = {m.rule for m in MUTANTS}
    assert len(rules) == sum(len(group["rules"]) for group in RULES["groups"])


@pytest.mark.parametrize("subject", SUBJECTS, ids=str)
def test_focused_suites_pass(subject: Subject, tmp_path: Path) -> None:
    result = run_focused(RULES, subject, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.id)
def test_the_unit_tests_reject_the_mutant(mutant: Mutant, tmp_path: Path) -> None:
    whole = tmp_path / "mutant.rules.yaml"
    whole.write_text(yaml.safe_dump(mutant.rules, sort_keys=False), encoding="utf-8")
    checked = run("check", "rules", str(whole))
    assert checked.returncode == 0, f"the mutant itself is invalid:\n{checked.stdout}"

    result = run_focused(mutant.rules, mutant.subject, tmp_path)

    assert result.returncode != 0, f"no unit test fails when {mutant.id}"
    # A failed expectation, not a file promtool could not load.
    assert "exp:" in result.stderr, result.stdout + result.stderr
