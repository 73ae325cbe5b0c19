"""What engineering has been told: the alerts firing now, in the staff's words, and since when.

A table on the Prometheus data source (AMP on AWS), which evaluates the rules files (the symptom
alerts, alerts/logger-app.rules.yaml, and the SLO alerts generated into
alerts/logger-app.slo.rules.yaml) and so holds the alerts' state as series: ALERTS (one per
active alert, `alertstate` pending or firing) and ALERTS_FOR_STATE (its value: when the alert
became active, in Unix seconds). Each line shows the alert's `summary`, read from the rules files
when the dashboard is generated (the series carry labels, not annotations), and the time it
started.

Alerts about absent telemetry have no `deployment_environment` label (there is no series left
to take it from), and the worker's alerts carry its own service name: the query accepts both.
"""

from pathlib import Path
from typing import Any

import yaml
from grafana_foundation_sdk.builders import prometheus, table
from grafana_foundation_sdk.models.dashboard import (
    DataTransformerConfig,
    DynamicConfigValue,
    ValueMap,
    ValueMappingResult,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from dashboards.datasources import PROMETHEUS

REPO = Path(__file__).resolve().parents[1]
RULES_FILES = (
    REPO / "alerts" / "logger-app.rules.yaml",
    REPO / "alerts" / "logger-app.slo.rules.yaml",
)
TITLE = "Problems engineering has already been told about"
WHAT = "Engineering has been told"
SINCE = "Since"
# Firing alerts of the chosen environment (or of none: absent telemetry) and service (or its
# worker), one line per alert name, with the earliest start, in milliseconds for Grafana.
QUERY = (
    "1000 * min by (alertname) (\n"
    '  ALERTS_FOR_STATE{deployment_environment=~"$environment|", '
    'service_name=~"($service)(-worker)?"}\n'
    '  and ignoring (alertstate) ALERTS{alertstate="firing"}\n'
    ")"
)


def alert_words(rules_files: tuple[Path, ...] = RULES_FILES) -> dict[str, str]:
    """Alert name -> its summary, the words staff read."""
    words: dict[str, str] = {}
    for path in rules_files:
        document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        for group in document["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    words.setdefault(rule["alert"], rule["annotations"]["summary"])
    return words


def active_alerts_query() -> prometheus.Dataquery:
    return (
        prometheus.Dataquery()
        .datasource(PROMETHEUS)
        .expr(QUERY)
        .format(PromQueryFormat.TABLE)
        .instant()
        .ref_id("A")
    )


def active_alerts_panel(rules_files: tuple[Path, ...] = RULES_FILES) -> table.Panel:
    """The staff panel: one line per problem engineering has been told about, in plain words
    ("Patients cannot sign up", since 10:42). Empty when nothing is wrong."""
    words = alert_words(rules_files)
    mapping = ValueMap(
        options={
            name: ValueMappingResult(text=text, index=index)
            for index, (name, text) in enumerate(sorted(words.items()))
        }
    )
    return (
        table.Panel()
        .title(TITLE)
        .description(
            "Each line is a problem the system has already reported to engineering, and since "
            "when. Engineering is working on it: there is no need to call. No lines: nothing "
            "is wrong right now."
        )
        .datasource(PROMETHEUS)
        .with_target(active_alerts_query())
        .with_transformation(
            DataTransformerConfig(
                id_val="organize",
                options={"excludeByName": {"Time": True}, "indexByName": {"alertname": 0}},
            )
        )
        .override_by_name(
            "alertname",
            [
                DynamicConfigValue(id_val="displayName", value=WHAT),
                DynamicConfigValue(id_val="mappings", value=[mapping]),
            ],
        )
        .override_by_name(
            "Value",
            [
                DynamicConfigValue(id_val="displayName", value=SINCE),
                DynamicConfigValue(id_val="unit", value="dateTimeAsLocalNoDateIfToday"),
            ],
        )
        .no_value("Nothing is wrong right now")
        .show_header(True)
        .height(6)
        .span(24)
    )
