"""Error budgets: the SLOs of alerts/logger-app.slo.yaml as both dashboards show them.

The numbers are Sloth's recordings (alerts/logger-app.slo.rules.yaml, evaluated by Prometheus
and AMP), never recomputed here: slo:period_error_budget_remaining:ratio (the budget left over
the 30 days), slo:current_burn_rate:ratio (how fast it goes now: 1 spends exactly the budget in
the period), slo:sli_error:ratio_rate30d (the share of bad requests over the period),
slo:time_period:days, and sloth_slo_info, whose `sloth_objective` label carries each promise.
The objectives and the period come from the data, so editing an objective in the spec (and
`make slo`) changes what the panels say without regenerating the dashboards.

Recordings per environment and service carry those labels; Sloth's constant recordings
(sloth_slo_info, slo:time_period:days) carry only the SLO's: they join on `sloth_slo`.
"""

from pathlib import Path
from typing import Any

import yaml
from grafana_foundation_sdk.builders import stat
from grafana_foundation_sdk.models import common

from dashboards import promql
from dashboards.panels import (
    GREEN,
    PROM_SCOPE,
    RED,
    informative,
    prom_query,
    stat_panel,
    thresholds,
)

REPO = Path(__file__).resolve().parents[1]
SPEC_FILE = REPO / "alerts" / "logger-app.slo.yaml"
ORANGE = "orange"
LEGEND = "{{sloth_slo}}"
# The staff's sentence for each SLO of the spec (by name), before its number; its promise
# (the objective) follows from the data: "(promise: 99.9 %)".
PROMISES: dict[str, str] = {
    "signups-availability": "Sign-ups worked as promised over the last 30 days",
    "signups-latency": "Sign-ups were answered within a quarter of a second over the last 30 days",
    "records-availability": (
        "Calls, messages and notes were saved as promised over the last 30 days"
    ),
    "records-latency": (
        "Calls, messages and notes were saved within a quarter of a second over the last 30 days"
    ),
}
# Burn rates at which the page fires (14.4 over 5 minutes and 1 hour, Sloth's fastest window).
PAGE_BURN_RATE = 14.4


def slo_names(spec_file: Path = SPEC_FILE) -> list[str]:
    """The SLOs of the spec, in its order."""
    spec: dict[str, Any] = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    return [str(slo["name"]) for slo in spec["slos"]]


def _by_slo(metric: str, matchers: str = PROM_SCOPE) -> str:
    return f"max by (sloth_slo) ({metric}{{{matchers}}})"


def budget_left() -> str:
    """The share of the period's error budget left (1 all of it, below 0 overspent)."""
    return promql.while_current(_by_slo("slo:period_error_budget_remaining:ratio"))


def burn_rate_now() -> str:
    """How fast the budget goes now (Sloth's 5-minute ratio over the budget); 0 when nothing
    was requested in those 5 minutes (Sloth records no ratio then)."""
    now = _by_slo("slo:current_burn_rate:ratio")
    return promql.while_current(f"{now} or 0 * {_by_slo('slo:period_burn_rate:ratio')}")


def budget_lasts() -> str:
    """Seconds until the budget is spent at the current burn rate: at most the period (it
    lasts; a rolling window gets back what leaves it), 0 when it is spent."""
    period = "max by (sloth_slo) (slo:time_period:days) * 86400"
    now = _by_slo("slo:current_burn_rate:ratio")
    burn = f"({now} or 0 * {_by_slo('slo:period_burn_rate:ratio')})"
    left = _by_slo("slo:period_error_budget_remaining:ratio")
    lasts = f"{left} * {period} / {burn}"
    longest = "scalar(max(slo:time_period:days)) * 86400"
    return promql.while_current(f"clamp_min(clamp_max({lasts}, {longest}), 0)")


def promise_kept(slo: str) -> str:
    """Percent of the SLO's requests that were good over the period, with its objective as the
    `sloth_objective` label."""
    matchers = f'{PROM_SCOPE}, sloth_slo="{slo}"'
    good = f"100 * (1 - {_by_slo('slo:sli_error:ratio_rate30d', matchers)})"
    objective = f'max by (sloth_slo, sloth_objective) (sloth_slo_info{{sloth_slo="{slo}"}})'
    return promql.while_current(f"{good} * on (sloth_slo) group_left (sloth_objective) {objective}")


def _per_slo_panel(
    title: str, description: str, expr: str, *, unit: str, colours: Any, decimals: int
) -> stat.Panel:
    return (
        stat_panel(title, description, prom_query(expr, LEGEND), unit=unit, colours=colours)
        .decimals(decimals)
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
        .span(8)
    )


def engineering_panels() -> list[stat.Panel]:
    """Per SLO: the budget left this period, the burn rate now, and how long the budget lasts
    at that rate (docs/slo.md says what to do when one burns)."""
    return [
        _per_slo_panel(
            "Error budget left (30 days)",
            "Share of each SLO's 30-day error budget not yet spent: 100% none spent, 0% all, "
            "below 0 the objective is missed (Sloth's slo:period_error_budget_remaining:ratio, "
            "from the 5-minute error ratios averaged over 30 days).",
            budget_left(),
            unit="percentunit",
            colours=thresholds((None, RED), (0, ORANGE), (0.25, GREEN)),
            decimals=1,
        ),
        _per_slo_panel(
            "Burn rate now (5 minutes)",
            "How fast each budget is being spent, over the last 5 minutes: 1 spends exactly the "
            f"budget in 30 days; the page fires at {PAGE_BURN_RATE} (over 5 minutes and 1 "
            "hour) or 6 (over 30 minutes and 6 hours). 0 when nothing was requested.",
            burn_rate_now(),
            unit="suffix:x",
            colours=thresholds((None, GREEN), (1, ORANGE), (PAGE_BURN_RATE, RED)),
            decimals=1,
        ),
        _per_slo_panel(
            "Budget lasts, at the current burn rate",
            "Time until each error budget is spent if requests keep failing (or being slow) as "
            "in the last 5 minutes. 30 days: it lasts the period; 0: it is spent.",
            budget_lasts(),
            unit="s",
            colours=thresholds((None, RED), (86400, ORANGE), (7 * 86400, GREEN)),
            decimals=1,
        ),
    ]


def promises_panel(spec_file: Path = SPEC_FILE) -> stat.Panel:
    """The staff panel: one plain sentence per promise, e.g. "Sign-ups worked as promised over
    the last 30 days (promise: 99.9 %)  99.97 %"."""
    names = slo_names(spec_file)
    missing = [name for name in names if name not in PROMISES]
    if missing:
        raise ValueError(f"no staff sentence for the SLOs {missing}: add them to PROMISES")
    queries = [
        prom_query(promise_kept(name), f"{PROMISES[name]} (promise: {{{{sloth_objective}}}} %)")
        .ref_id(chr(ord("A") + index))
        .instant()
        for index, name in enumerate(names)
    ]
    panel = (
        stat_panel(
            "Our promises to patients",
            "For each promise, how often it was kept over the last 30 days, and what we "
            "promise. Engineering is told long before a promise is in danger.",
            queries[0],
            unit="percent",
            colours=informative(),
        )
        .decimals(2)
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
        .orientation(common.VizOrientation.HORIZONTAL)
        .height(6)
        .span(24)
    )
    for query in queries[1:]:
        panel = panel.with_target(query)
    return panel
