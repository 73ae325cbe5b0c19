"""The e2e stack's copies of the rules files and routing (tests/e2e/rules.py) differ from the
repository's only in their durations, each divided by TIME_SCALE; promtool and amtool accept
them. The SLO rules' names and labels keep the production windows (ratio_rate5m, sloth_window):
only the windows they evaluate shrink."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.alerts.promtool import RULES_FILES, load_rules, run
from tests.deploy.helpers import require_tool
from tests.durations import seconds
from tests.e2e.alertmanager import alertmanager_binary
from tests.e2e.rules import ROUTING_FILE, TIME_SCALE, scaled_routing, scaled_rules, write_rules

WINDOW = re.compile(r"\[(\d+[smhdw]|\d+ms)\]")


@pytest.mark.parametrize("path", RULES_FILES, ids=lambda p: p.name)
def test_only_windows_and_for_change_each_divided_by_the_scale(path: Path) -> None:
    original = load_rules((path,))
    scaled = scaled_rules(original)
    assert original["groups"], path
    for group, fast_group in zip(original["groups"], scaled["groups"], strict=True):
        for rule, fast in zip(group["rules"], fast_group["rules"], strict=True):
            assert {k: v for k, v in fast.items() if k not in ("expr", "for")} == {
                k: v for k, v in rule.items() if k not in ("expr", "for")
            }
            assert WINDOW.sub("[]", fast["expr"]) == WINDOW.sub("[]", rule["expr"])
            for slow_window, fast_window in zip(
                WINDOW.findall(rule["expr"]), WINDOW.findall(fast["expr"]), strict=True
            ):
                assert seconds(fast_window) * TIME_SCALE == seconds(slow_window)
            if "for" in rule:
                assert seconds(fast["for"]) * TIME_SCALE == seconds(rule["for"])


def test_promtool_accepts_the_scaled_rules(tmp_path: Path) -> None:
    paths = write_rules(tmp_path)
    assert [p.name for p in paths] == [p.name for p in RULES_FILES]
    result = run("check", "rules", *map(str, paths))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_slo_period_and_windows_scale_like_every_other_window() -> None:
    """The 30-day period becomes 3 days, the 5-minute window 30 s: the ratios, the budget and
    the burn-rate alerts keep their proportions on the faster clock."""
    [slo_rules] = [p for p in RULES_FILES if p.name == "logger-app.slo.rules.yaml"]
    scaled = scaled_rules(load_rules((slo_rules,)))
    windows = {
        rule["labels"]["sloth_window"]: set(WINDOW.findall(rule["expr"]))
        for group in scaled["groups"]
        for rule in group["rules"]
        if rule.get("record", "").startswith("slo:sli_error:")
    }
    assert windows == {
        "5m": {"30s"},
        "30m": {"3m"},
        "1h": {"6m"},
        "2h": {"12m"},
        "6h": {"36m"},
        "1d": {"144m"},
        "3d": {"432m"},
        "30d": {"3d"},
    }


def test_the_scaled_routing_routes_like_the_real_one_to_a_webhook(tmp_path: Path) -> None:
    original = yaml.safe_load(ROUTING_FILE.read_text(encoding="utf-8"))
    routing = scaled_routing(original, "http://127.0.0.1:9/alerts")
    assert routing["inhibit_rules"] == original["inhibit_rules"]
    assert [r["receiver"] for r in routing["route"]["routes"]] == [
        r["receiver"] for r in original["route"]["routes"]
    ]
    for receiver in routing["receivers"]:
        assert receiver["webhook_configs"] == [
            {"url": "http://127.0.0.1:9/alerts", "send_resolved": True}
        ]
    assert seconds(routing["route"]["group_wait"]) * TIME_SCALE == seconds(
        original["route"]["group_wait"]
    )
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(routing))
    assert alertmanager_binary()
    amtool = require_tool("amtool", "apt-get install prometheus-alertmanager (Debian)")
    result = subprocess.run(
        [amtool, "check-config", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
