"""Dashboard variables resolved the way Grafana would, against the real data sources."""

import re
from typing import Any

import httpx

from tests.dashboards.queries import substitute

LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\)$")


def prometheus_label_values(url: str, label: str, selector: str | None) -> list[str]:
    params = {"match[]": selector} if selector else {}
    response = httpx.get(f"{url}/api/v1/label/{label}/values", params=params, timeout=10)
    response.raise_for_status()
    values: list[str] = response.json()["data"]
    return values


def resolve(board: dict[str, Any], prometheus_url: str) -> dict[str, str]:
    """Each variable's value as Grafana would first select it: "All" where the variable has it,
    else a query variable's first value (sorted), a text box's default. The time variables are
    per panel (grafana_time.builtins)."""
    values: dict[str, str] = {}
    for variable in board["templating"]["list"]:
        name = variable["name"]
        if variable["type"] == "query":
            found = options(variable, prometheus_url, values)
            values[name] = variable["allValue"] if variable.get("includeAll") else found[0]
        elif variable.get("includeAll"):
            values[name] = variable["allValue"]
        elif variable["type"] == "textbox":
            values[name] = variable["current"]["value"]
        elif variable["type"] == "custom":
            values[name] = variable["query"].split(",")[0]
        else:
            raise AssertionError(f"${name}: variable type {variable['type']} is not checked")
    return values


def options(variable: dict[str, Any], prometheus_url: str, values: dict[str, str]) -> list[str]:
    """A query variable's options (sorted), with the variables before it substituted."""
    match = LABEL_VALUES.match(variable["query"])
    assert match, f"${variable['name']}: not a label_values() query: {variable['query']}"
    selector = match["selector"] and substitute(match["selector"], values)
    found = prometheus_label_values(prometheus_url, match["label"], selector)
    assert found, f"${variable['name']} has no values: {variable['query']} ({selector})"
    return sorted(found)
