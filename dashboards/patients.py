"""Patients — live: for operations and care staff. Plain words; no query language on show."""

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.models.dashboard import Dashboard, DashboardLinkType

from dashboards import promql
from dashboards.layout import Item, add_all
from dashboards.panels import (
    LOKI_SCOPE,
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
from dashboards.promql import RECORDS, SERVER_ERRORS, SIGNUPS
from dashboards.semconv import REQUESTS

UID = "logger-app-patients"
TITLE = "Patients — live"
TAGS = ["logger-app"]
TODAY = "now/d"
LAST_HOUR = "1h"
# Counts read as "12 patients": Grafana's custom unit "suffix:<text>".
PATIENTS = "suffix: patients"
PEOPLE = "suffix: people"
LOOKUPS = "suffix: look-ups"
CALLS = "suffix: calls"
ITEMS = "suffix: items"
UPDATES = "suffix: updates"
REQUESTS_UNIT = "suffix: requests"
RECORD_UNITS = {
    "call_started": CALLS,
    "call_ended": CALLS,
    "message": "suffix: messages",
    "note": "suffix: notes",
}
# Bars on the time series: one bar per this many minutes at least.
BAR_INTERVAL = "5m"

# What each business event means, in the words the staff use. Everything else is left out.
EVENT_WORDS: dict[str, str] = {
    "signup.created": "A new patient signed up",
    "signup.duplicate": "Someone tried to sign up with an email that is already registered",
    "signup.replayed": "A sign-up arrived twice; it was saved once",
    "record.not_found": "Someone looked for a record that does not exist",
    "event.publish_failed": "A saved update could not be passed on to other systems",
    "dependency.unavailable": (
        "The system could not reach its storage; the person was asked to retry"
    ),
    "request.failed": "Something went wrong while handling a request",
}
RECORD_WORDS: dict[str, str] = {
    "call_started": "A call started",
    "call_ended": "A call ended",
    "message": "A message was recorded",
    "note": "A note was recorded",
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
    return f"{{{LOKI_SCOPE}}} | json | event=~`{events}` | line_format `{template}`"


def _records(kind: str, window: str) -> str:
    return promql.total(RECORDS, f'kind="{kind}", outcome="created"', window)


def _signups() -> list[Item]:
    return [
        dashboard_builders.Row("Sign-ups"),
        stat_panel(
            "New patients in the last hour",
            "Patients who signed up in the last 60 minutes.",
            prom_query(promql.total(SIGNUPS, 'outcome="created"', "$__range")),
            unit=PATIENTS,
            colours=informative(),
            time_from=LAST_HOUR,
        ),
        stat_panel(
            "New patients today",
            "Patients who signed up since midnight.",
            prom_query(promql.total(SIGNUPS, 'outcome="created"', "$__range")),
            unit=PATIENTS,
            colours=informative(),
            time_from=TODAY,
        ),
        stat_panel(
            "Tried to sign up again today",
            "People who tried to sign up with an email that is already registered, since "
            "midnight. They were not registered twice. Nothing to do.",
            prom_query(promql.total(SIGNUPS, 'outcome="duplicate"', "$__range")),
            unit=PEOPLE,
            colours=informative(),
            time_from=TODAY,
        ),
        stat_panel(
            "Records looked up but not found today",
            "Times someone asked for a call, message or note that does not exist, since "
            "midnight. A few are normal (a mistyped link); many may mean a problem.",
            prom_query(promql.total(promql.LOOKUPS, 'outcome="not_found"', "$__range")),
            unit=LOOKUPS,
            colours=informative(),
            time_from=TODAY,
        ),
        timeseries_panel(
            "New patients over time",
            "How many patients signed up; each bar covers a few minutes.",
            [
                prom_query(
                    promql.total(SIGNUPS, 'outcome="created"', "$__interval"),
                    legend="New patients",
                )
            ],
            unit=PATIENTS,
            bars=True,
            min_interval=BAR_INTERVAL,
            width=24,
        ),
    ]


def _interactions() -> list[Item]:
    return [
        dashboard_builders.Row("Calls, messages and notes"),
        *[
            stat_panel(
                title,
                f"{what} since midnight.",
                prom_query(_records(kind, "$__range")),
                unit=RECORD_UNITS[kind],
                colours=informative(),
                time_from=TODAY,
            )
            for kind, title, what in [
                ("call_started", "Calls started today", "Calls between a patient and a doctor"),
                ("call_ended", "Calls ended today", "Calls that finished"),
                ("message", "Messages today", "Messages recorded between patients and doctors"),
                ("note", "Notes today", "Notes recorded about patients' care"),
            ]
        ],
        timeseries_panel(
            "Calls started and ended",
            "Calls between patients and doctors; each bar covers a few minutes.",
            [
                prom_query(_records("call_started", "$__interval"), "Calls started", "A"),
                prom_query(_records("call_ended", "$__interval"), "Calls ended", "B"),
            ],
            unit=CALLS,
            bars=True,
            min_interval=BAR_INTERVAL,
        ),
        timeseries_panel(
            "Messages and notes recorded",
            "Messages and notes recorded; each bar covers a few minutes.",
            [
                prom_query(_records("message", "$__interval"), "Messages", "A"),
                prom_query(_records("note", "$__interval"), "Notes", "B"),
            ],
            unit=ITEMS,
            bars=True,
            min_interval=BAR_INTERVAL,
        ),
    ]


def _failures() -> list[Item]:
    description = (
        " in the last hour. Green: none. Red: please call engineering and say which box is red."
    )
    return [
        dashboard_builders.Row("Things that failed (red means: call engineering)"),
        stat_panel(
            "Sign-ups that could not be saved",
            "Patients who tried to sign up but could not be registered because of a fault"
            + description,
            prom_query(promql.failures(SIGNUPS, 'outcome="failed"')),
            unit=PATIENTS,
            colours=red_from(1),
            time_from=LAST_HOUR,
        ),
        stat_panel(
            "Calls, messages or notes that could not be saved",
            "Calls, messages and notes that could not be recorded because of a fault" + description,
            prom_query(promql.failures(RECORDS, 'outcome="failed"')),
            unit=ITEMS,
            colours=red_from(1),
            time_from=LAST_HOUR,
        ),
        stat_panel(
            "Updates not passed on to other systems",
            "Sign-ups and records that were saved, but whose notice to the other systems "
            "could not be sent" + description,
            prom_query(promql.failures(promql.PUBLISHES, 'outcome="failed"')),
            unit=UPDATES,
            colours=red_from(1),
            time_from=LAST_HOUR,
        ),
        stat_panel(
            "Requests the system could not answer",
            "Times the system answered with an error of its own (not a mistake by the person "
            "using it)" + description,
            prom_query(promql.failures(REQUESTS, SERVER_ERRORS)),
            unit=REQUESTS_UNIT,
            colours=red_from(1),
            time_from=LAST_HOUR,
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
        .timezone("browser")
        .readonly()
        .with_variable(environment_variable())
        .with_variable(service_variable())
        .link(
            dashboard_builders.DashboardLink("Engineering view")
            .type(DashboardLinkType.DASHBOARDS)
            .tags(TAGS)
            .include_vars(True)
            .keep_time(True)
        )
    )
    return add_all(board, [*_signups(), *_interactions(), *_failures(), *_live()]).build()
