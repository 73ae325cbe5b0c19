"""Whether the work in hand is synthetic (`logger-app verify`'s journey), which counts as no
patient: its log lines say ``"synthetic": true``, its counters ``traffic="synthetic"``, its
events carry the mark to the worker, and what it stores expires (``expires_at``).

A request's mark is a mutable holder set when its server span starts (``begin_request``) and
marked once the token names a synthetic client (``mark``): the middleware around the route
(the request and audit lines, the HTTP histogram) reads the same holder after the route
returned, whatever context copies happened in between.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

# Set (true) on the spans of synthetic requests and of the worker's handling of their events.
SPAN_ATTRIBUTE = "logger_app.synthetic"
# The bounded label that separates synthetic traffic on the service's counters.
TRAFFIC_ATTRIBUTE = "traffic"
SYNTHETIC = "synthetic"
PATIENT = "patient"
TRAFFIC = (PATIENT, SYNTHETIC)
# The same, on the semantic-conventions HTTP histogram (custom attributes there are namespaced).
HTTP_TRAFFIC_ATTRIBUTE = "logger_app.traffic"
# The DynamoDB TTL attribute (epoch seconds) of what synthetic work stores: gone within a day.
EXPIRES_AT = "expires_at"
TTL_SECONDS = 24 * 3600
# The client `logger-app verify` uses against the local issuer (`make run`, compose); the
# journey's records name it as their doctor.
LOCAL_CLIENT_ID = "logger-app-verify"


@dataclass
class _Mark:
    synthetic: bool = False


_MARK: ContextVar[_Mark | None] = ContextVar("logger_app_synthetic", default=None)


def begin_request() -> None:
    """A fresh, unmarked holder for the request starting in this context."""
    _MARK.set(_Mark())


def mark() -> None:
    """The work in hand is synthetic."""
    holder = _MARK.get()
    if holder is None:
        _MARK.set(_Mark(synthetic=True))
    else:
        holder.synthetic = True


def is_synthetic() -> bool:
    holder = _MARK.get()
    return holder is not None and holder.synthetic


def traffic() -> str:
    """The counters' ``traffic`` label of the work in hand."""
    return SYNTHETIC if is_synthetic() else PATIENT


@contextmanager
def marked(synthetic: bool) -> Iterator[None]:
    """Within the block, the work is synthetic or not (the worker's events)."""
    token = _MARK.set(_Mark(synthetic=synthetic))
    try:
        yield
    finally:
        _MARK.reset(token)


def expires_at(now: float | None = None) -> str:
    """When a synthetic item expires, as DynamoDB's TTL reads it (epoch seconds)."""
    return str(int(now if now is not None else time.time()) + TTL_SECONDS)


def expiry() -> dict[str, "AttributeValueTypeDef"]:
    """The TTL attribute an item written by the work in hand carries: synthetic items expire, a
    patient's never do."""
    return {EXPIRES_AT: {"N": expires_at()}} if is_synthetic() else {}
