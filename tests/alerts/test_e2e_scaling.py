"""The e2e stack's copy of the rules and routing (tests/e2e/rules.py) differs from the
repository's only in its durations, each divided by TIME_SCALE; promtool and amtool accept it."""

import re
import subprocess
from pathlib import Path

import yaml

from tests.alerts.promtool import load_rules, run
from tests.deploy.helpers import require_tool
from tests.durations import seconds
from tests.e2e.alertmanager import alertmanager_binary
from tests.e2e.rules import ROUTING_FILE, TIME_SCALE, scaled_routing, scaled_rules, write_rules

WINDOW = re.compile(r"\[(\d+[smhdw]|\d+ms)\]")


def test_only_windows_and_for_change_each_divided_by_the_scale() -> None:
    original = load_rules()
    scaled = scaled_rules(original)
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
    result = run("check", "rules", str(write_rules(tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr


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
