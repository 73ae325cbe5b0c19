"""Service health: for engineers. Error budgets per SLO; traffic, errors and latency per route;
AWS dependencies; logs linked to traces."""

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.models.dashboard import Dashboard, DashboardLinkType

from dashboards import promql, slo
from dashboards.layout import Item, add_all
from dashboards.panels import (
    LOKI_SCOPE,
    data_age_panel,
    deploys_annotation,
    environment_variable,
    event_variable,
    informative,
    level_variable,
    logs_panel,
    loki_query,
    prom_query,
    red_from,
    service_variable,
    stat_panel,
    thresholds,
    timeseries_panel,
)
from dashboards.promql import AWS_CALL_BUCKETS, AWS_CALLS, CLIENT_ERRORS, PUBLISHES, SERVER_ERRORS
from dashboards.semconv import DURATION_UNIT, REQUESTS, ROUTE, STATUS

UID = "logger-app-service-health"
TITLE = "Service health"
TAGS = ["logger-app"]
LEGEND_ROUTE = f"{{{{{ROUTE}}}}}"
EVENTS_PER_SECOND = "suffix: events/s"
LONG_POLLS_LEFT_OUT = 'operation!="ReceiveMessage"'

# The X-Ray form of the line's trace id (1-<8 hex>-<24 hex>), as a label the AWS Loki data
# source's derived field links to X-Ray; lines outside a request (empty trace_id) keep it empty.
XRAY_TRACE_ID = (
    'label_format xray_trace_id=`{{ regexReplaceAll "^([0-9a-f]{8})([0-9a-f]{24})$" '
    '.trace_id "1-${1}-${2}" }}`'
)


def _requests() -> list[Item]:
    return [
        dashboard_builders.Row("Requests"),
        timeseries_panel(
            "Request rate by route",
            "Requests per second the service answered, per route template (health checks "
            "excluded). Source: the FastAPI instrumentation's server duration histogram.",
            [prom_query(promql.rate_by(REQUESTS, ROUTE), LEGEND_ROUTE)],
            unit="reqps",
            width=8,
        ),
        timeseries_panel(
            "Error rate by route (5xx)",
            "Share of requests answered with a 5xx, per route. 0 when a route had none. "
            "A 503 means DynamoDB or SQS was throttled or unreachable; see the logs below.",
            [
                prom_query(
                    promql.ratio_by(REQUESTS, ROUTE, SERVER_ERRORS),
                    LEGEND_ROUTE,
                )
            ],
            unit="percentunit",
            colours=red_from(0.01),
            width=8,
        ),
        timeseries_panel(
            "Client errors by route and status (4xx)",
            "4xx answers per second: 404 unknown record, 409 email already signed up, 413 body "
            "too large, 422 invalid input or idempotency key reused with another body.",
            [
                prom_query(
                    promql.rate_by(REQUESTS, f"{ROUTE}, {STATUS}", CLIENT_ERRORS),
                    f"{{{{{ROUTE}}}}} {{{{{STATUS}}}}}",
                )
            ],
            unit="reqps",
            width=8,
        ),
        *[
            timeseries_panel(
                f"Latency p{label} by route",
                f"{label}th percentile of server-side request duration per route, from the "
                "histogram buckets (accuracy is bounded by the bucket widths).",
                [prom_query(promql.quantile_by(q, ROUTE), LEGEND_ROUTE)],
                unit=DURATION_UNIT,
                width=8,
            )
            for q, label in [(0.5, "50"), (0.95, "95"), (0.99, "99")]
        ],
    ]


def _error_budgets() -> list[Item]:
    return [dashboard_builders.Row("Error budgets (30 days)"), *slo.engineering_panels()]


def _dependencies() -> list[Item]:
    dependency_errors = (
        f"sum by (dependency) (count_over_time({{{LOKI_SCOPE}}} | json "
        '| event="dependency.unavailable" [$__auto]))'
    )
    return [
        dashboard_builders.Row("DynamoDB and SQS"),
        timeseries_panel(
            "Queue publishes by event and outcome",
            "Events published to SQS per second, by event type and outcome (published, failed).",
            [prom_query(promql.rate_by(PUBLISHES, "event, outcome"), "{{event}} {{outcome}}")],
            unit=EVENTS_PER_SECOND,
            width=8,
        ),
        stat_panel(
            "Events whose first publish failed",
            "Events whose SQS publish right after the DynamoDB write failed (logged once as "
            "event.publish_failed) in the selected time range; the outbox drain sends them "
            "later. Counted once per event, not per retry.",
            prom_query(promql.counted(PUBLISHES, 'outcome="failed"')),
            unit="suffix: events",
            colours=red_from(1),
        ),
        timeseries_panel(
            "Outbox backlog",
            "Events saved but not yet published, older than the drain's minimum age (10 s), "
            "and the oldest one's age, as each API task's last drain found them. Drains to 0 "
            "once SQS answers.",
            [
                prom_query(f"max({promql.selector(promql.OUTBOX_PENDING)})", "waiting", "A"),
                prom_query(f"max({promql.selector(promql.OUTBOX_OLDEST_AGE)})", "oldest (s)", "B"),
            ],
            unit="short",
            colours=red_from(1),
            width=6,
        ),
        timeseries_panel(
            "Requests refused: DynamoDB or SQS unavailable",
            "dependency.unavailable log events (503 with Retry-After) per dependency, from "
            "Loki: throttling, timeouts or outages after botocore's retries.",
            [loki_query(dependency_errors, "{{dependency}}")],
            unit="suffix: requests",
            colours=red_from(1),
            width=10,
        ),
        timeseries_panel(
            "DynamoDB and SQS call latency p95 by operation",
            "95th percentile of each AWS call's duration, botocore's retries included, per "
            "service and operation. Every call is also a client span in its request's trace. "
            "The worker's ReceiveMessage is left out: a long poll lasts up to its 20 s wait "
            "by design (its failures are in the next panel).",
            [
                prom_query(
                    promql.quantile_by(
                        0.95, "service, operation", AWS_CALL_BUCKETS, LONG_POLLS_LEFT_OUT
                    ),
                    "{{service}} {{operation}}",
                )
            ],
            unit="s",
            width=12,
        ),
        timeseries_panel(
            "DynamoDB and SQS call failures by operation",
            "AWS calls per second that failed after botocore's retries: unavailable "
            "(throttled, 5xx, timed out or unreachable) or error (refused for good: access "
            "denied, missing table, invalid request). A conflict (an email already signed up) "
            "is an answer, not a failure, and is not shown.",
            [
                prom_query(
                    promql.rate_by(
                        AWS_CALLS, "service, operation, outcome", 'outcome=~"unavailable|error"'
                    ),
                    "{{service}} {{operation}} {{outcome}}",
                )
            ],
            unit="suffix: calls/s",
            colours=red_from(0.01),
            width=12,
        ),
    ]


def _worker() -> list[Item]:
    return [
        dashboard_builders.Row("Event worker"),
        *[
            stat_panel(
                title,
                description,
                prom_query(promql.counted(promql.WORKER_EVENTS, f'outcome="{outcome}"')),
                unit="suffix: events",
                colours=colours,
            )
            for outcome, title, description, colours in [
                (
                    "processed",
                    "Events processed",
                    "Events the worker applied, in the selected time range.",
                    informative(),
                ),
                (
                    "duplicate",
                    "Duplicates ignored",
                    "Events delivered again (SQS is at-least-once) and recognised as already "
                    "applied.",
                    informative(),
                ),
                (
                    "failed",
                    "Events failed",
                    "Events the worker could not handle (malformed, a missing patient, AWS "
                    "refusing for good); each is retried until the queue's receive limit.",
                    red_from(1),
                ),
                (
                    "dead_lettered",
                    "Events dead-lettered",
                    "Events that failed on their last receive and went to the dead-letter "
                    "queue: look at them (runbook).",
                    red_from(1),
                ),
            ]
        ],
        timeseries_panel(
            "Queue depth",
            "Messages waiting in the event queue and in its dead-letter queue, as the worker "
            "reads them from SQS every minute. Any message in the dead-letter queue is red.",
            [prom_query(f"max by (queue) ({promql.selector(promql.QUEUE_DEPTH)})", "{{queue}}")],
            unit="suffix: messages",
            colours=red_from(1),
            decimals=0,
            width=24,
        ),
    ]


def _logs() -> list[Item]:
    scope = f'{{{LOKI_SCOPE}, level=~"$level"}}'
    events = '| event=~"$event"'
    return [
        dashboard_builders.Row("Logs"),
        timeseries_panel(
            "Log lines by level",
            "Log lines per second by level (the Loki `level` label set by Fluent Bit).",
            [loki_query(f"sum by (level) (rate({scope} [$__auto]))", "{{level}}")],
            unit="suffix: lines/s",
            colours=thresholds((None, "text")),
            width=24,
        ),
        logs_panel(
            "Logs",
            "The service's log lines, newest first, filtered by the level and event variables. "
            "Expand a line and follow its trace id (View trace) to the trace.",
            loki_query(f"{scope} | json {events} | {XRAY_TRACE_ID}"),
        ),
    ]


def build() -> Dashboard:
    board = (
        dashboard_builders.Dashboard(TITLE)
        .uid(UID)
        .description(
            "Error budgets per SLO; request rate, errors and latency per route; DynamoDB and "
            "SQS; logs linked to traces."
        )
        .tags(TAGS)
        .refresh("30s")
        .time("now-1h", "now")
        .timezone("utc")
        .readonly()
        .with_variable(environment_variable())
        .with_variable(service_variable())
        .with_variable(level_variable())
        .with_variable(event_variable())
        .annotation(deploys_annotation())
        .link(
            dashboard_builders.DashboardLink("Staff view")
            .type(DashboardLinkType.DASHBOARDS)
            .tags(TAGS)
            .include_vars(True)
            .keep_time(True)
        )
    )
    return add_all(
        board,
        [
            dashboard_builders.Row("Is this page up to date?"),
            data_age_panel(promql.data_age()),
            *_error_budgets(),
            *_requests(),
            *_dependencies(),
            *_worker(),
            *_logs(),
        ],
    ).build()
