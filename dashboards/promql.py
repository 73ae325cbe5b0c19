"""PromQL building blocks over the service's metrics (README, "Telemetry")."""

from dashboards.panels import PROM_SCOPE, STALE_AFTER_SECONDS
from dashboards.semconv import REQUEST_BUCKETS, REQUESTS, STATUS

SIGNUPS = "logger_app_signups_total"
RECORDS = "logger_app_records_total"
LOOKUPS = "logger_app_record_lookups_total"
PUBLISHES = "logger_app_queue_publishes_total"
WORKER_EVENTS = "logger_app_worker_events_total"
OUTBOX_PENDING = "logger_app_outbox_pending"
OUTBOX_OLDEST_AGE = "logger_app_outbox_oldest_age_seconds"
QUEUE_DEPTH = "logger_app_queue_depth"
AWS_CALLS = "logger_app_aws_call_duration_seconds_count"
AWS_CALL_BUCKETS = "logger_app_aws_call_duration_seconds_bucket"


# logger-app verify's synthetic journey is no patient's: every panel leaves it out, by the
# label each series that counts requests carries (docs/telemetry.md). `!=` also keeps the
# series written before the label existed.
NOT_SYNTHETIC = {
    SIGNUPS: 'traffic!="synthetic"',
    RECORDS: 'traffic!="synthetic"',
    LOOKUPS: 'traffic!="synthetic"',
    WORKER_EVENTS: 'traffic!="synthetic"',
    REQUESTS: 'logger_app_traffic!="synthetic"',
    REQUEST_BUCKETS: 'logger_app_traffic!="synthetic"',
}


def selector(metric: str, matchers: str = "") -> str:
    """`metric{<environment and service>, matchers}`, without synthetic traffic."""
    extra = ", ".join(m for m in (matchers, NOT_SYNTHETIC.get(metric, "")) if m)
    return f"{metric}{{{PROM_SCOPE}{', ' + extra if extra else ''}}}"


# Every API and worker process exports, each interval, the time of that export.
HEARTBEAT = "logger_app_telemetry_heartbeat_seconds"


def count(metric: str, matchers: str, window: str) -> str:
    """Exactly how many were counted within `window`, over every instance of the service.

    Per series (one per process: each has its own `instance`, so a counter never resets within
    it): the last value in the window minus the value at its start, or the whole last value for
    a series born in the window (counters start at 0). No extrapolation, unlike increase(),
    which turns one sign-up into 1.25 and cannot count the first value of a new series.
    """
    series = selector(metric, matchers)
    last = f"max_over_time({series}[{window}])"
    return f"sum(({last} - {series} offset {window}) or ({last} unless {series} offset {window}))"


def week_earlier(expr: str) -> str:
    """`expr` as it was evaluated one week ago (its own offsets move with it)."""
    return f"last_over_time(({expr})[5m:1m] offset 1w)"


def data_age() -> str:
    """Seconds since the service's newest export (up to a day back)."""
    return f"time() - max(max_over_time({selector(HEARTBEAT)}[1d]))"


def while_current(expr: str) -> str:
    """`expr` while the service's data is current; nothing (the panel says "No data") once its
    newest export is older than STALE_AFTER_SECONDS: a stopped pipeline must not read as 0."""
    newest = f"max(max_over_time({selector(HEARTBEAT)}[5m]))"
    return f"({expr}) and on() ((time() - {newest}) < {STALE_AFTER_SECONDS})"


def rate_by(metric: str, by: str, matchers: str = "") -> str:
    return f"sum by ({by}) (rate({selector(metric, matchers)}[$__rate_interval]))"


def ratio_by(metric: str, by: str, part: str) -> str:
    """Share of `metric` matching `part`, per `by`; 0 (not "no data") for groups with none."""
    whole = rate_by(metric, by)
    return f"({rate_by(metric, by, part)} or {whole} * 0) / {whole}"


def quantile_by(q: float, by: str, buckets: str = REQUEST_BUCKETS, matchers: str = "") -> str:
    series = selector(buckets, matchers)
    return f"histogram_quantile({q}, sum by (le, {by}) (rate({series}[$__rate_interval])))"


def counted(metric: str, matchers: str) -> str:
    """What a stat panel shows: exactly how many in its time range, while the data is current."""
    return while_current(count(metric, matchers, "$__range"))


SERVER_ERRORS = f'{STATUS}=~"5.."'
CLIENT_ERRORS = f'{STATUS}=~"4.."'
