"""Reading the queries out of dashboard JSON, with Grafana's variables substituted."""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from dashboards.render import OUTPUT


def committed_boards() -> dict[str, dict[str, Any]]:
    """The committed dashboards (grafana/dashboards/*.json), by file name."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(OUTPUT.glob("*.json"))
    }


@dataclass(frozen=True)
class Query:
    dashboard: str
    panel: str
    datasource: str
    expr: str
    # The panel's own time settings (timeFrom, interval, gridPos, maxDataPoints) and the
    # dashboard's default range: what Grafana's time variables are computed from.
    panel_json: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    dashboard_from: str = "now-6h"


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those inside collapsed rows."""
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def targets(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in panels(board):
        yield from panel.get("targets", [])


def queries(board: dict[str, Any]) -> list[Query]:
    return [
        Query(
            board["title"],
            panel["title"],
            target["datasource"]["uid"],
            target["expr"],
            panel,
            board["time"]["from"],
        )
        for panel in panels(board)
        for target in panel.get("targets", [])
    ]


def substitute(expr: str, variables: dict[str, str]) -> str:
    """Replace `$name` and `${name}`, longest names first (`$__rate_interval` before
    `$__range`)."""
    for name in sorted(variables, key=len, reverse=True):
        expr = expr.replace("${" + name + "}", variables[name]).replace("$" + name, variables[name])
    return expr


# Grafana's variable syntax: $name or ${name} (names start with a letter or "_"). Regex anchors
# ("$") and capture-group references (${1}) are not variables.
VARIABLE = re.compile(r"\$\{?([A-Za-z_]\w*)")


def unresolved(expr: str) -> list[str]:
    return VARIABLE.findall(expr)
