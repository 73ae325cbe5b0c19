"""Panel, query and variable builders with the defaults both dashboards share."""

from collections.abc import Sequence

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import logs, loki, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardLink,
    Threshold,
    ThresholdsMode,
    VariableHide,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from dashboards.datasources import LOKI, PROMETHEUS

# Label matchers that scope every query to the chosen environment and service. Prometheus series
# carry the app's resource attributes (otel-collector.yaml, resource_to_telemetry_conversion);
# Loki streams carry the labels fluent-bit.conf assigns.
PROM_SCOPE = 'deployment_environment=~"$environment", service_name=~"$service"'
LOKI_SCOPE = 'service=~"$service", environment=~"$environment"'
# Metrics every instance of every logger-app process (API and worker) writes from its start.
IDENTITY_SERIES = '{__name__=~"logger_app_.+"'
# What a panel says when its query returns nothing: the pipeline, not the patients, is quiet.
NO_DATA = "No data — telemetry is not arriving"
# Metrics are exported every 60 s: three missed exports and the data is no longer current.
STALE_AFTER_SECONDS = 180

GREEN = "green"
RED = "red"
BLUE = "blue"


def environment_variable() -> dashboard_builders.QueryVariable:
    return (
        dashboard_builders.QueryVariable("environment")
        .label("Environment")
        .description("Which deployment to show, e.g. prod or staging.")
        .datasource(PROMETHEUS)
        .query(f"label_values({IDENTITY_SERIES}}}, deployment_environment)")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )


def service_variable() -> dashboard_builders.QueryVariable:
    return (
        dashboard_builders.QueryVariable("service")
        .label("Service")
        .description("Which service to show: the API (logger-app), the event worker, or all.")
        .datasource(PROMETHEUS)
        .query(
            f'label_values({IDENTITY_SERIES}, deployment_environment=~"$environment"}}, '
            "service_name)"
        )
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".+")
        .current(VariableOption(selected=True, text="All", value="$__all"))
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
        # ".*": a line without a level (a crash before logging starts) is shown too.
        .all_value(".*")
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
    links: Sequence[dashboard_builders.DashboardLink] | None = None,
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
        .no_value(NO_DATA)
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        .height(5)
        .span(6)
    )
    if time_from:
        panel = panel.time_from(time_from).hide_time_override(False)
    if links:
        panel = panel.links(list[Builder[DashboardLink]](links))
    return panel


def data_age_panel(expr: str) -> stat.Panel:
    """How old the newest data is: green while current, red past the staleness limit."""
    return stat_panel(
        "Data is current",
        "How long ago the service last sent its numbers (every minute normally). Red after "
        f"{STALE_AFTER_SECONDS // 60} minutes: the numbers on this page are not being updated; "
        "call engineering.",
        prom_query(expr),
        unit="s",
        colours=red_from(STALE_AFTER_SECONDS),
    )


def red_line() -> common_builders.GraphThresholdsStyleConfig:
    """Draw a time series' thresholds as lines, so its red limit is visible."""
    return common_builders.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.LINE)


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
    decimals: int | None = None,
    time_from: str | None = None,
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
    if colours is not None and any(step.color == RED for step in colours.build().steps or []):
        panel = panel.thresholds_style(red_line())
    if decimals is not None:
        panel = panel.decimals(decimals)
    if time_from:
        panel = panel.time_from(time_from).hide_time_override(False)
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


def event_variable() -> dashboard_builders.TextBoxVariable:
    """Which log events to show (a regular expression); the staff failure boxes link here."""
    return (
        dashboard_builders.TextBoxVariable("event")
        .label("Event")
        .description("Show only log lines whose event matches, e.g. request.failed.")
        .default_value(".*")
        .current(VariableOption(selected=True, text=".*", value=".*"))
    )


def deploys_annotation() -> dashboard_builders.AnnotationQuery:
    """A mark on every time series where a process of the service started: deploys, restarts."""
    return (
        dashboard_builders.AnnotationQuery()
        .name("Deploys and restarts")
        .datasource(LOKI)
        .enable(True)
        .icon_color("purple")
        .expr(f'{{{LOKI_SCOPE}}} | json | event=~"service[.]started|worker[.]started"')
    )
