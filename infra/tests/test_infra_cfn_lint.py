"""cfn-lint (the infra extra's, the latest release when pinned) over every synthesized template:
an error fails, and so does a warning not listed with its reason in infra/cfn-lint-ignore.yaml."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from infra_settings import REGION, REPO
from logger_app_infra.app_builder import LoggerAppStacks

SCRIPT = REPO / "scripts" / "cfn-lint.sh"
IGNORE_FILE = REPO / "infra" / "cfn-lint-ignore.yaml"
CFN_LINT = Path(sys.executable).parent / "cfn-lint"


def _outdirs(*configs: LoggerAppStacks) -> list[str]:
    return [str(stacks.network.node.root.outdir) for stacks in configs]  # type: ignore[attr-defined]


def test_cfn_lint_passes_on_every_template(
    full: LoggerAppStacks, prod: LoggerAppStacks, dev: LoggerAppStacks
) -> None:
    result = subprocess.run(
        [str(SCRIPT), REGION, *_outdirs(full, prod, dev)],
        capture_output=True,
        text=True,
        env={"VENV_BIN": str(Path(sys.executable).parent), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _ignored() -> dict[str, dict[str, str]]:
    entries: dict[str, dict[str, str]] = yaml.safe_load(IGNORE_FILE.read_text(encoding="utf-8"))
    return entries


def test_every_ignored_rule_is_a_warning_with_its_reason() -> None:
    for rule, entry in _ignored().items():
        assert rule[0] in "WI", f"{rule}: errors are fixed, never ignored"
        assert set(entry) == {"reason"}, rule
        assert len(entry["reason"]) >= 60, rule


def test_every_ignored_rule_still_fires(
    full: LoggerAppStacks, prod: LoggerAppStacks, dev: LoggerAppStacks
) -> None:
    """An entry no template triggers any more is removed, so the list stays the live one."""
    templates = [str(p) for d in _outdirs(full, prod, dev) for p in Path(d).glob("*.template.json")]
    result = subprocess.run(
        [str(CFN_LINT), "--format", "json", "--regions", REGION, "--", *templates],
        capture_output=True,
        text=True,
        check=False,
    )
    found = {finding["Rule"]["Id"] for finding in json.loads(result.stdout or "[]")}
    stale = set(_ignored()) - found
    assert not stale, f"remove from {IGNORE_FILE.name}: {sorted(stale)}"


@pytest.mark.parametrize("rule", ["E3002"])
def test_an_error_is_never_ignored_by_the_script(rule: str, tmp_path: Path) -> None:
    """The script fails on a template with an error, whatever the ignore file says."""
    broken = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"NoSuchProperty": 1}}}
    }
    (tmp_path / "Broken.template.json").write_text(json.dumps(broken))
    result = subprocess.run(
        [str(SCRIPT), REGION, str(tmp_path)],
        capture_output=True,
        text=True,
        env={"VENV_BIN": str(Path(sys.executable).parent), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode != 0
    assert rule in result.stdout
