"""PromQL building blocks over the service's metrics (README, "Telemetry")."""

from dashboards.panels import PROM_SCOPE
from dashboards.semconv import REQUEST_BUCKETS, STATUS

SIGNUPS = "logger_app_signups_total"
RECORDS = "logger_app_records_total"
LOOKUPS = "logger_app_record_lookups_total"
PUBLISHES = "logger_app_queue_publishes_total"
AWS_CALLS = "logger_app_aws_call_duration_seconds_count"
AWS_CALL_BUCKETS = "logger_app_aws_call_duration_seconds_bucket"


def selector(metric: str, matchers: str = "") -> str:
    """`metric{<environment and service>, matchers}`."""
    return f"{metric}{{{PROM_SCOPE}{', ' + matchers if matchers else ''}}}"


def total(metric: str, matchers: str, window: str, *, zero_when_none: bool = False) -> str:
    """How many were counted within `window`, summed over every instance of the service.

    `zero_when_none` is for failure counters: an outcome that never happened has no series at
    all, and a failure panel must then read 0, not "no data".
    """
    expr = f"sum(increase({selector(metric, matchers)}[{window}]))"
    return f"{expr} or vector(0)" if zero_when_none else expr


def rate_by(metric: str, by: str, matchers: str = "") -> str:
    return f"sum by ({by}) (rate({selector(metric, matchers)}[$__rate_interval]))"


def ratio_by(metric: str, by: str, part: str) -> str:
    """Share of `metric` matching `part`, per `by`; 0 (not "no data") for groups with none."""
    whole = rate_by(metric, by)
    return f"({rate_by(metric, by, part)} or {whole} * 0) / {whole}"


def quantile_by(q: float, by: str, buckets: str = REQUEST_BUCKETS) -> str:
    return (
        f"histogram_quantile({q}, sum by (le, {by}) (rate({selector(buckets)}[$__rate_interval])))"
    )


def failures(metric: str, matchers: str) -> str:
    """Failures counted in the panel's time range; 0 when there were none."""
    return total(metric, matchers, "$__range", zero_when_none=True)


SERVER_ERRORS = f'{STATUS}=~"5.."'
CLIENT_ERRORS = f'{STATUS}=~"4.."'
