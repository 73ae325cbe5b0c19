"""The service's own counters: business events for the dashboards, in one place.

Attributes stay low-cardinality (outcome, kind, event type): never ids, emails or paths.
Names carry no ``_total``; the Prometheus exporters add it.
"""

from opentelemetry import metrics

_meter = metrics.get_meter("logger_app")

signups = _meter.create_counter(
    "logger_app.signups",
    unit="{signup}",
    description="Patient sign-ups, by outcome (created, duplicate, replayed, rejected, failed).",
)
records = _meter.create_counter(
    "logger_app.records",
    unit="{record}",
    description="Interaction records written, by kind and outcome (created, failed).",
)
record_lookups = _meter.create_counter(
    "logger_app.record_lookups",
    unit="{lookup}",
    description="Record reads, by outcome (found, not_found).",
)
queue_publishes = _meter.create_counter(
    "logger_app.queue_publishes",
    unit="{message}",
    description="Events published to the queue, by event type and outcome (published, failed).",
)
worker_events = _meter.create_counter(
    "logger_app.worker_events",
    unit="{event}",
    description="Events the worker consumed, by type and outcome "
    "(processed, duplicate, failed, dead_lettered).",
)
aws_call_duration = _meter.create_histogram(
    "logger_app.aws.call.duration",
    unit="s",
    description="Duration of each DynamoDB and SQS call, botocore's retries included, by "
    "service, operation and outcome (ok; conflict: a condition of ours did not hold; "
    "unavailable; error: a permanent failure).",
    explicit_bucket_boundaries_advisory=[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
)
