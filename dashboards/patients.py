"""Patients — live: for operations and care staff. Plain words; no query language on show."""

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.models.dashboard import Dashboard, DashboardLinkType

from dashboards import promql, slo
from dashboards.alerts import active_alerts_panel
from dashboards.layout import Item, add_all
from dashboards.panels import (
    LOKI_SCOPE,
    data_age_panel,
    deploys_annotation,
    environment_variable,
    informative,
    logs_panel,
    loki_query,
    prom_query,
    red_from,
    service_variable,
    stat_panel,
    timeseries_panel,
)
from dashboards.promql import OUTBOX_OLDEST_AGE, OUTBOX_PENDING, RECORDS, SERVER_ERRORS, SIGNUPS
from dashboards.semconv import REQUESTS
from logger_app.schemas import RecordKind

UID = "logger-app-patients"
TITLE = "Patients — live"
TAGS = ["logger-app"]
TODAY = "now/d"
THIS_WEEK = "now/w"
LAST_HOUR = "1h"
SERVICE_HEALTH_UID = "logger-app-service-health"
# Counts read as "12 patients": Grafana's custom unit "suffix:<text>".
PATIENTS = "suffix: patients"
ATTEMPTS = "suffix: attempts"
LOOKUPS = "suffix: look-ups"
CALLS = "suffix: calls"
ITEMS = "suffix: items"
UPDATES = "suffix: updates"
REQUESTS_UNIT = "suffix: requests"
RECORD_UNITS: dict[RecordKind, str] = {
    RecordKind.call_started: CALLS,
    RecordKind.call_ended: CALLS,
    RecordKind.message: "suffix: messages",
    RecordKind.note: "suffix: notes",
}
# Bars on the time series: one bar per this many minutes at least.
BAR_INTERVAL = "5m"
# The log events behind the failure boxes, for their links to the engineers' log panel.
FAILURE_EVENTS = "dependency.unavailable|request.failed"
WAITING_EVENTS = "event.publish_failed|outbox.waiting"

# What each business event means, in the words the staff use. Everything else is left out.
EVENT_WORDS: dict[str, str] = {
    "signup.created": "A new patient signed up",
    "signup.duplicate": "Someone tried to sign up with an email that is already registered",
    "signup.replayed": "A sign-up arrived twice; it was saved once",
    "record.not_found": "Someone looked for a record that does not exist",
    "record.id_taken": (
        "A call, message or note arrived at the same moment as another of the same "
        "conversation; it was not saved, and the sender was asked to send it again"
    ),
    "event.publish_failed": "A saved update could not be passed on to other systems",
    "dependency.unavailable": (
        "The system could not reach its storage; the person was asked to retry"
    ),
    "request.failed": "Something went wrong while handling a request",
}
RECORD_WORDS: dict[RecordKind, str] = {
    RecordKind.call_started: "A call started",
    RecordKind.call_ended: "A call ended",
    RecordKind.message: "A message was recorded",
    RecordKind.note: "A note was recorded",
}


def _live_events_logql() -> str:
    events = "|".join(e.replace(".", "[.]") for e in [*EVENT_WORDS, "record.created"])
    kinds = "".join(
        f'{{{{ else if eq .kind "{kind}" }}}}{words}' for kind, words in RECORD_WORDS.items()
    )
    others = "".join(
        f'{{{{ else if eq .event "{event}" }}}}{words}' for event, words in EVENT_WORDS.items()
    )
    # record.created first: its wording depends on the record's kind.
    template = f'{{{{ if eq .event "record.created" }}}}{{{{ if false }}}}{kinds}{{{{ end }}}}'
    template += f"{others}{{{{ end }}}}"
    # Not logger-app verify's lines ("synthetic": true, however Fluent Bit spaces its JSON):
    # a line filter, which lines without the field pass.
    not_synthetic = '!~ `"synthetic": ?true`'
    return f"{{{LOKI_SCOPE}}} {not_synthetic} | json | event=~`{events}` | line_format `{template}`"


def _created(kind: RecordKind) -> str:
    return f'kind="{kind}", outcome="created"'


def _records(kind: RecordKind) -> str:
    return promql.counted(RECORDS, _created(kind))


def _record_bars(kind: RecordKind) -> str:
    return promql.count(RECORDS, _created(kind), "$__interval")


def _logs_link(title: str, events: str) -> dashboard_builders.DashboardLink:
    """To the engineers' log panel, filtered to the events behind a failure box."""
    return (
        dashboard_builders.DashboardLink(title)
        .type(DashboardLinkType.LINK)
        .url(f"/d/{SERVICE_HEALTH_UID}?var-event={events}")
        .include_vars(True)
        .keep_time(True)
        .target_blank(True)
    )


def _now() -> list[Item]:
    return [
        dashboard_builders.Row("Is this page up to date?"),
        data_age_panel(promql.data_age()),
    ]


def _signups() -> list[Item]:
    created = 'outcome="created"'
    return [
        dashboard_builders.Row("Sign-ups"),
        stat_panel(
            "New patients in the last hour",
            "Patients who signed up in the last 60 minutes.",
            prom_query(promql.counted(SIGNUPS, created)),
            unit=PATIENTS,
            colours=informative(),
            time_from=LAST_HOUR,
        ),
        stat_panel(
            "New patients today",
            "Patients who signed up since midnight (the company's time zone).",
            prom_query(promql.counted(SIGNUPS, created)),
            unit=PATIENTS,
            colours=informative(),
            time_from=TODAY,
        ),
        stat_panel(
            "New patients today, a week ago",
            "Patients who had signed up by this time on the same day last week, to compare "
            "with today.",
            prom_query(promql.week_earlier(promql.counted(SIGNUPS, created))),
            unit=PATIENTS,
            colours=informative(),
            time_from=TODAY,
        ),
        stat_panel(
            "Sign-up attempts with an email already registered today",
            "Attempts, since midnight, to sign up with an email that is already registered. "
            "Nobody was registered twice. Nothing to do.",
            prom_query(promql.counted(SIGNUPS, 'outcome="duplicate"')),
            unit=ATTEMPTS,
            colours=informative(),
            time_from=TODAY,
        ),
        stat_panel(
            "New patients this week",
            "Patients who signed up since Monday.",
            prom_query(promql.counted(SIGNUPS, created)),
            unit=PATIENTS,
            colours=informative(),
            time_from=THIS_WEEK,
        ),
        stat_panel(
            "New patients last week, by this time",
            "Patients who had signed up by this time last week, to compare with this week.",
            prom_query(promql.week_earlier(promql.counted(SIGNUPS, created))),
            unit=PATIENTS,
            colours=informative(),
            time_from=THIS_WEEK,
        ),
        stat_panel(
            "Records looked up but not found today",
            "Times someone asked for a call, message or note that does not exist, since "
            "midnight. A few are normal (a mistyped link); many may mean a problem.",
            prom_query(promql.counted(promql.LOOKUPS, 'outcome="not_found"')),
            unit=LOOKUPS,
            colours=informative(),
            time_from=TODAY,
        ),
        timeseries_panel(
            "New patients over time",
            "How many patients signed up; each bar covers a few minutes.",
            [
                prom_query(
                    promql.count(SIGNUPS, created, "$__interval"),
                    legend="New patients",
                )
            ],
            unit=PATIENTS,
            bars=True,
            min_interval=BAR_INTERVAL,
            decimals=0,
            width=12,
        ),
        timeseries_panel(
            "New patients per day, last 30 days",
            "How many patients signed up each day, for the last 30 days.",
            [prom_query(promql.count(SIGNUPS, created, "$__interval"), legend="New patients")],
            unit=PATIENTS,
            bars=True,
            min_interval="1d",
            decimals=0,
            width=12,
            time_from="30d",
        ),
    ]


def _interactions() -> list[Item]:
    return [
        dashboard_builders.Row("Calls, messages and notes"),
        stat_panel(
            "Calls in progress now",
            "Calls started in the last two hours that have not ended yet. An estimate: a call "
            "whose end was never recorded, or that began more than two hours ago, is not "
            "counted correctly.",
            prom_query(
                promql.while_current(
                    "clamp_min("
                    + promql.count(RECORDS, _created(RecordKind.call_started), "2h")
                    + " - "
                    + promql.count(RECORDS, _created(RecordKind.call_ended), "2h")
                    + ", 0)"
                )
            ),
            unit=CALLS,
            colours=informative(),
        ),
        stat_panel(
            "Calls, messages or notes that clashed with another today",
            "Times, since midnight, a call, message or note arrived at the same moment as "
            "another of the same conversation. It was not saved, and the sender was asked to "
            "send it again; nothing was lost. Not a fault: a few are normal.",
            prom_query(promql.counted(RECORDS, 'outcome="clash"')),
            unit=ATTEMPTS,
            colours=informative(),
            time_from=TODAY,
        ),
        *[
            stat_panel(
                title,
                f"{what} since midnight.",
                prom_query(_records(kind)),
                unit=RECORD_UNITS[kind],
                colours=informative(),
                time_from=TODAY,
            )
            for kind, title, what in [
                (
                    RecordKind.call_started,
                    "Calls started today",
                    "Calls between a patient and a doctor",
                ),
                (RecordKind.call_ended, "Calls ended today", "Calls that finished"),
                (
                    RecordKind.message,
                    "Messages today",
                    "Messages recorded between patients and doctors",
                ),
                (RecordKind.note, "Notes today", "Notes recorded about patients' care"),
            ]
        ],
        timeseries_panel(
            "Calls started and ended",
            "Calls between patients and doctors; each bar covers a few minutes.",
            [
                prom_query(_record_bars(RecordKind.call_started), "Calls started", "A"),
                prom_query(_record_bars(RecordKind.call_ended), "Calls ended", "B"),
            ],
            unit=CALLS,
            bars=True,
            min_interval=BAR_INTERVAL,
            decimals=0,
        ),
        timeseries_panel(
            "Messages and notes recorded",
            "Messages and notes recorded; each bar covers a few minutes.",
            [
                prom_query(_record_bars(RecordKind.message), "Messages", "A"),
                prom_query(_record_bars(RecordKind.note), "Notes", "B"),
            ],
            unit=ITEMS,
            bars=True,
            min_interval=BAR_INTERVAL,
            decimals=0,
        ),
    ]


def _promises() -> list[Item]:
    return [dashboard_builders.Row("Did we keep our promises?"), slo.promises_panel()]


def _failures() -> list[Item]:
    description = (
        " in the last hour. Green: none. Red: please call engineering and say which box is red."
    )
    failed_requests = _logs_link("What went wrong (for engineering)", FAILURE_EVENTS)
    return [
        dashboard_builders.Row("Things that failed (red means: call engineering)"),
        active_alerts_panel(),
        stat_panel(
            "Sign-ups that could not be saved",
            "Patients who tried to sign up but could not be registered because of a fault"
            + description,
            prom_query(promql.counted(SIGNUPS, 'outcome="failed"')),
            unit=PATIENTS,
            colours=red_from(1),
            time_from=LAST_HOUR,
            links=[failed_requests],
        ),
        stat_panel(
            "Calls, messages or notes that could not be saved",
            "Calls, messages and notes that could not be recorded because of a fault" + description,
            prom_query(promql.counted(RECORDS, 'outcome="failed"')),
            unit=ITEMS,
            colours=red_from(1),
            time_from=LAST_HOUR,
            links=[failed_requests],
        ),
        stat_panel(
            "Requests the system could not answer",
            "Times the system answered with an error of its own (not a mistake by the person "
            "using it)" + description,
            prom_query(promql.counted(REQUESTS, SERVER_ERRORS)),
            unit=REQUESTS_UNIT,
            colours=red_from(1),
            time_from=LAST_HOUR,
            links=[failed_requests],
        ),
        stat_panel(
            "Updates waiting to be passed on",
            "Sign-ups and records that are saved, but whose notice to the other systems has "
            "not gone out yet. They are sent as soon as the other systems answer; nothing is "
            "lost. Red: some have waited more than a few seconds; call engineering if it stays "
            "red.",
            prom_query(promql.while_current(f"max({promql.selector(OUTBOX_PENDING)})")),
            unit=UPDATES,
            colours=red_from(1),
            links=[_logs_link("Why they are waiting (for engineering)", WAITING_EVENTS)],
        ),
        stat_panel(
            "Oldest update waiting",
            "How long the oldest update waiting to be passed on has waited. 0: none waiting.",
            prom_query(promql.while_current(f"max({promql.selector(OUTBOX_OLDEST_AGE)})")),
            unit="s",
            colours=red_from(300),
        ),
    ]


def _live() -> list[Item]:
    return [
        dashboard_builders.Row("What is happening now"),
        logs_panel(
            "Latest activity",
            "What patients and the system just did, newest first. No names or emails are "
            "ever shown here.",
            loki_query(_live_events_logql()),
            details=False,
        ),
    ]


def build() -> Dashboard:
    board = (
        dashboard_builders.Dashboard(TITLE)
        .uid(UID)
        .description(
            "What patients are doing right now, and what failed. For operations and care staff."
        )
        .tags(TAGS)
        .refresh("30s")
        .time("now-6h", "now")
        # "": Grafana's default time zone, which the deployment sets to the company's
        # (GF_USERS_DEFAULT_TIMEZONE), so "today" is the same day for everyone.
        .timezone("")
        .readonly()
        .with_variable(environment_variable())
        .with_variable(service_variable())
        .annotation(deploys_annotation())
        .link(
            dashboard_builders.DashboardLink("Engineering view")
            .type(DashboardLinkType.DASHBOARDS)
            .tags(TAGS)
            .include_vars(True)
            .keep_time(True)
        )
    )
    return add_all(
        board, [*_now(), *_signups(), *_interactions(), *_promises(), *_failures(), *_live()]
    ).build()
