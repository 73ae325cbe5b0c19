"""Dashboard variables resolved the way Grafana would, against the real data sources."""

import re
from typing import Any

import httpx

from tests.dashboards.queries import substitute

# Grafana's built-in interval variables, as the checks set them: windows wide enough to span the
# whole test traffic, so a query that returns nothing is wrong, not early.
BUILTINS = {
    "__range": "1h",
    "__interval": "5m",
    "__rate_interval": "5m",
    "__auto": "5m",
}
LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\)$")


def prometheus_label_values(url: str, label: str, selector: str | None) -> list[str]:
    params = {"match[]": selector} if selector else {}
    response = httpx.get(f"{url}/api/v1/label/{label}/values", params=params, timeout=10)
    response.raise_for_status()
    values: list[str] = response.json()["data"]
    return values


def resolve(board: dict[str, Any], prometheus_url: str) -> dict[str, str]:
    """Each variable's value as Grafana would first select it: a query variable's first value
    (sorted), a custom variable's "All" value when it has one."""
    values = dict(BUILTINS)
    for variable in board["templating"]["list"]:
        name = variable["name"]
        if variable["type"] == "query":
            match = LABEL_VALUES.match(variable["query"])
            assert match, f"${name}: not a label_values() query: {variable['query']}"
            selector = match["selector"] and substitute(match["selector"], values)
            found = prometheus_label_values(prometheus_url, match["label"], selector)
            assert found, f"${name} has no values: {variable['query']} ({selector})"
            values[name] = sorted(found)[0]
        elif variable["type"] == "custom":
            if variable.get("includeAll"):
                values[name] = variable["allValue"]
            else:
                values[name] = variable["query"].split(",")[0]
        else:
            raise AssertionError(f"${name}: variable type {variable['type']} is not checked")
    return values
