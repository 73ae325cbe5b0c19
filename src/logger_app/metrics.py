"""The service's own counters and gauges: business events for the dashboards, in one place.

Attributes stay low-cardinality (outcome, kind, event type): never ids, emails or paths. The
patient-facing counters (sign-ups, records, record reads, worker events) also carry
``traffic`` (patient or synthetic: ``logger-app verify``'s journey), which the staff views
leave out.
Names carry no ``_total``; the Prometheus exporters add it.

Every counter series is recorded at zero when the process starts (``start_counting``): a series
born holding its first count is invisible to ``increase()``, so the first failure of a kind, or
the first sign-up on a new task, would not be counted on the dashboards.
"""

import time
from collections.abc import Callable, Iterable, Mapping

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from logger_app import events, synthetic
from logger_app.schemas import RecordKind

_meter = metrics.get_meter("logger_app")

# The outcome label values, each counter's own set below.
CREATED = "created"
REPLAYED = "replayed"
REJECTED = "rejected"
FAILED = "failed"
DUPLICATE = "duplicate"
CLASH = "clash"
FOUND = "found"
NOT_FOUND = "not_found"
PUBLISHED = "published"
PROCESSED = "processed"
DEAD_LETTERED = "dead_lettered"

SIGNUP_OUTCOMES = (CREATED, DUPLICATE, REPLAYED, REJECTED, FAILED)
RECORD_KINDS = tuple(kind.value for kind in RecordKind)
RECORD_OUTCOMES = (CREATED, REPLAYED, REJECTED, CLASH, FAILED)
LOOKUP_OUTCOMES = (FOUND, NOT_FOUND)
EVENT_TYPES = events.EVENT_TYPES
# What the worker counts a message under whose event type is none of those: it can only fail.
UNKNOWN_EVENT = "unknown"
PUBLISH_OUTCOMES = (PUBLISHED, FAILED)
WORKER_OUTCOMES = (PROCESSED, DUPLICATE, FAILED, DEAD_LETTERED)
WORKER_FAILURES = (FAILED, DEAD_LETTERED)

signups = _meter.create_counter(
    "logger_app.signups",
    unit="{signup}",
    description="Patient sign-ups, by outcome (created, duplicate, replayed, rejected, failed).",
)
records = _meter.create_counter(
    "logger_app.records",
    unit="{record}",
    description="Interaction records written, by kind and outcome (created, replayed, "
    "rejected: the patient unknown, another patient's interaction or a reused key; clash: a "
    "record already stored at that id and timestamp; failed).",
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
    description="Events the worker consumed, by type (unknown for any other) and outcome "
    "(processed, duplicate, failed, dead_lettered).",
)
aws_call_duration = _meter.create_histogram(
    "logger_app.aws.call.duration",
    unit="s",
    description="Duration of each DynamoDB and SQS call, botocore's retries included, by "
    "service, operation and outcome (ok; conflict: a condition of ours did not hold; "
    "unavailable; error: a permanent failure). The worker's ReceiveMessage lasts up to its "
    "long poll's wait.",
    explicit_bucket_boundaries_advisory=[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
)


def _zero(counter: metrics.Counter, attribute_sets: Iterable[Mapping[str, str]]) -> None:
    for attributes in attribute_sets:
        counter.add(0, dict(attributes))


def _by_traffic(attribute_sets: Iterable[Mapping[str, str]]) -> Iterable[Mapping[str, str]]:
    return (
        {**attributes, synthetic.TRAFFIC_ATTRIBUTE: traffic}
        for attributes in attribute_sets
        for traffic in synthetic.TRAFFIC
    )


def traffic() -> dict[str, str]:
    """The ``traffic`` attribute of the work in hand, for the patient-facing counters."""
    return {synthetic.TRAFFIC_ATTRIBUTE: synthetic.traffic()}


def start_counting_requests() -> None:
    """The API process's counters, each known attribute set at zero."""
    _zero(signups, _by_traffic({"outcome": o} for o in SIGNUP_OUTCOMES))
    _zero(
        records,
        _by_traffic({"kind": k, "outcome": o} for k in RECORD_KINDS for o in RECORD_OUTCOMES),
    )
    _zero(record_lookups, _by_traffic({"outcome": o} for o in LOOKUP_OUTCOMES))
    _zero(
        queue_publishes, ({"event": e, "outcome": o} for e in EVENT_TYPES for o in PUBLISH_OUTCOMES)
    )


def start_counting_events() -> None:
    """The worker process's counters, each known attribute set at zero."""
    _zero(
        worker_events,
        _by_traffic({"event": e, "outcome": o} for e in EVENT_TYPES for o in WORKER_OUTCOMES),
    )
    _zero(
        worker_events, _by_traffic({"event": UNKNOWN_EVENT, "outcome": o} for o in WORKER_FAILURES)
    )


_readers: dict[str, Callable[[], Iterable[tuple[float, Mapping[str, str]]]]] = {}


def observe(
    name: str,
    unit: str,
    description: str,
    read: Callable[[], Iterable[tuple[float, Mapping[str, str]]]],
) -> None:
    """A gauge whose values `read` returns when the SDK collects (what a background loop last
    measured: reading never calls AWS).

    Observed again under the same name (another app's lifespan in the same process, as in the
    tests), the one gauge reads the newest `read`: the SDK keeps the first instrument of a name.
    """
    if name not in _readers:

        def callback(_: CallbackOptions) -> Iterable[Observation]:
            return [Observation(value, dict(attributes)) for value, attributes in _readers[name]()]

        _meter.create_observable_gauge(
            name, callbacks=[callback], unit=unit, description=description
        )
    _readers[name] = read


# Every process's export carries the time it was taken: how old the newest is tells a dashboard
# whether its numbers are current, however long the silence (a sample's own timestamp cannot be
# read back reliably once it falls out of Prometheus's five-minute lookback).
observe(
    "logger_app.telemetry.heartbeat",
    "s",
    "The Unix time at which this process's metrics were collected for export.",
    lambda: [(time.time(), {})],
)
