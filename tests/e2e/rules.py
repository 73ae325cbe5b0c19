"""The alert rules and their routing as the end-to-end stack runs them: the repository's files
on a faster clock.

The harness exports metrics every second where production exports every minute, so a minute of
production is a few seconds here. Every duration of alerts/logger-app.rules.yaml (range windows
and `for`) and of alerts/alertmanager.yml (group_wait, group_interval, repeat_interval) is
divided by TIME_SCALE; nothing else changes, so the e2e Prometheus evaluates the real
expressions. 10, not 60: the collector batches metrics for up to 5 s (otel-collector.yaml,
batch.timeout) before the remote write, and a 5 min window scaled by 60 (5 s) could hold no
sample at all; scaled by 10 it holds 30 s of samples, six batches. An alert with a 2 min `for`
fires 12 s after its condition holds, and one on a 5 min window resolves 30 s after the fault.
"""

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from tests.durations import duration, seconds

REPO = Path(__file__).resolve().parents[2]
RULES_FILE = REPO / "alerts" / "logger-app.rules.yaml"
ROUTING_FILE = REPO / "alerts" / "alertmanager.yml"
TIME_SCALE = 10
_WINDOW = re.compile(r"\[(\d+(?:ms|[smhdw]))\]")
# Durations this scaling does not handle; the rules use none of them (a test says so).
_UNSCALED = re.compile(r"\boffset\b|@|\[[^\]]*:[^\]]*\]")
_ROUTE_TIMINGS = ("group_wait", "group_interval", "repeat_interval")


def _scale(value: str) -> str:
    return duration(seconds(value) / TIME_SCALE)


def scaled_rules(document: dict[str, Any]) -> dict[str, Any]:
    scaled = copy.deepcopy(document)
    for group in scaled["groups"]:
        if "interval" in group:
            group["interval"] = _scale(group["interval"])
        for rule in group["rules"]:
            if _UNSCALED.search(rule["expr"]):
                raise ValueError(f"cannot scale the durations of {rule['expr']!r}")
            rule["expr"] = _WINDOW.sub(lambda m: f"[{_scale(m.group(1))}]", rule["expr"])
            if "for" in rule:
                rule["for"] = _scale(rule["for"])
    return scaled


def scaled_routing(document: dict[str, Any], webhook_url: str) -> dict[str, Any]:
    """The routing with each receiver sending to the test's webhook, resolved alerts too."""
    scaled = copy.deepcopy(document)

    def scale_route(route: dict[str, Any]) -> None:
        for key in _ROUTE_TIMINGS:
            if key in route:
                route[key] = _scale(route[key])
        for child in route.get("routes", []):
            scale_route(child)

    scale_route(scaled["route"])
    for receiver in scaled["receivers"]:
        receiver["webhook_configs"] = [{"url": webhook_url, "send_resolved": True}]
    return scaled


def write_rules(workdir: Path) -> Path:
    document = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    path = workdir / "logger-app.rules.yaml"
    path.write_text(yaml.safe_dump(scaled_rules(document), sort_keys=False), encoding="utf-8")
    return path


def write_routing(workdir: Path, webhook_url: str) -> Path:
    document = yaml.safe_load(ROUTING_FILE.read_text(encoding="utf-8"))
    path = workdir / "alertmanager.yml"
    path.write_text(
        yaml.safe_dump(scaled_routing(document, webhook_url), sort_keys=False), encoding="utf-8"
    )
    return path
