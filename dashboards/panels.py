"""Panel, query and variable builders with the defaults both dashboards share."""

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import logs, loki, prometheus, stat, timeseries
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    Threshold,
    ThresholdsMode,
    VariableHide,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from dashboards.datasources import LOKI, PROMETHEUS
from dashboards.semconv import REQUESTS

# Label matchers that scope every query to the chosen environment and service. Prometheus series
# carry the app's resource attributes (otel-collector.yaml, resource_to_telemetry_conversion);
# Loki streams carry the labels fluent-bit.conf assigns.
PROM_SCOPE = 'deployment_environment=~"$environment", service_name=~"$service"'
LOKI_SCOPE = 'service=~"$service", environment=~"$environment"'
# A metric every running instance of the service writes once it has served one request.
IDENTITY_METRIC = REQUESTS

GREEN = "green"
RED = "red"
BLUE = "blue"


def environment_variable() -> dashboard_builders.QueryVariable:
    return (
        dashboard_builders.QueryVariable("environment")
        .label("Environment")
        .description("Which deployment to show, e.g. prod or staging.")
        .datasource(PROMETHEUS)
        .query(f"label_values({IDENTITY_METRIC}, deployment_environment)")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )


def service_variable() -> dashboard_builders.QueryVariable:
    return (
        dashboard_builders.QueryVariable("service")
        .label("Service")
        .description("Which service to show.")
        .datasource(PROMETHEUS)
        .query(
            f'label_values({IDENTITY_METRIC}{{deployment_environment=~"$environment"}}, '
            "service_name)"
        )
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )


def level_variable() -> dashboard_builders.CustomVariable:
    all_levels = VariableOption(selected=True, text="All", value="$__all")
    return (
        dashboard_builders.CustomVariable("level")
        .label("Log level")
        .description("Show only log lines of these levels.")
        .values("DEBUG,INFO,WARNING,ERROR,CRITICAL")
        .multi(True)
        .include_all(True)
        .all_value(".+")
        .current(all_levels)
        .hide(VariableHide.DONT_HIDE)
    )


def thresholds(*steps: tuple[float | None, str]) -> dashboard_builders.ThresholdsConfig:
    """Absolute steps; the first has no value (it is the base colour)."""
    return (
        dashboard_builders.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=value, color=color) for value, color in steps])
    )


def red_from(value: float) -> dashboard_builders.ThresholdsConfig:
    """Green below `value`, red from it: red means "call engineering"."""
    return thresholds((None, GREEN), (value, RED))


def informative() -> dashboard_builders.ThresholdsConfig:
    """A number to read, not to act on: one neutral colour."""
    return thresholds((None, BLUE))


def prom_query(expr: str, legend: str = "__auto", ref_id: str = "A") -> prometheus.Dataquery:
    return (
        prometheus.Dataquery()
        .datasource(PROMETHEUS)
        .expr(expr)
        .legend_format(legend)
        .ref_id(ref_id)
        .range()
    )


def loki_query(expr: str, legend: str = "", ref_id: str = "A") -> loki.Dataquery:
    query = loki.Dataquery().datasource(LOKI).expr(expr).ref_id(ref_id)
    return query.legend_format(legend) if legend else query


def stat_panel(
    title: str,
    description: str,
    query: prometheus.Dataquery | loki.Dataquery,
    *,
    unit: str,
    colours: dashboard_builders.ThresholdsConfig,
    time_from: str | None = None,
) -> stat.Panel:
    if isinstance(query, prometheus.Dataquery):
        # One number for the panel's whole time range, not a series of them.
        query = query.instant()
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .with_target(query)
        .unit(unit)
        .decimals(0)
        .thresholds(colours)
        .no_value("0")
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        .height(5)
        .span(6)
    )
    if time_from:
        panel = panel.time_from(time_from).hide_time_override(False)
    return panel


def timeseries_panel(
    title: str,
    description: str,
    queries: list[prometheus.Dataquery | loki.Dataquery],
    *,
    unit: str,
    bars: bool = False,
    colours: dashboard_builders.ThresholdsConfig | None = None,
    min_interval: str | None = None,
    width: int = 12,
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .targets(list(queries))
        .unit(unit)
        .min(0)
        .thresholds(colours or informative())
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .height(8)
        .span(width)
    )
    if bars:
        panel = panel.draw_style(common.GraphDrawStyle.BARS).fill_opacity(80).line_width(1)
    else:
        panel = panel.fill_opacity(10).line_width(2)
    if min_interval:
        panel = panel.interval(min_interval)
    return panel


def logs_panel(
    title: str, description: str, query: loki.Dataquery, *, details: bool = True
) -> logs.Panel:
    """`details`: expandable lines with their fields and trace link (engineers only)."""
    return (
        logs.Panel()
        .title(title)
        .description(description)
        .with_target(query)
        .show_time(True)
        .show_labels(False)
        .show_common_labels(False)
        .wrap_log_message(True)
        .enable_log_details(details)
        .sort_order(common.LogsSortOrder.DESCENDING)
        .height(12)
        .span(24)
    )
