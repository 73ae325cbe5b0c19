"""Export every failed request's trace, and successful ones up to a rate.

Encoding and exporting spans is most of what tracing costs the API per request (see
BENCHMARKS.md). Head sampling would save it but decides before the outcome is known, so it
would lose failures. Here every span is still recorded; what changes is which traces reach the
export processor: a trace is held in memory until its local root span (the request's server
span) ends, then passed on whole if any of its spans has an error status (a 5xx answer, an
exception, an AWS call that failed for good), if it is synthetic (`logger-app verify`'s journey,
marked on its root), or while the budget of successful traces per
second lasts, and dropped otherwise.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import (
    ReadableSpan,
    Span,
    SpanProcessor,
    SynchronousMultiSpanProcessor,
    TracerProvider,
)
from opentelemetry.trace import StatusCode

from logger_app.synthetic import SPAN_ATTRIBUTE as SYNTHETIC

# Traces whose root has not ended yet; past this the oldest is passed on whole (kept), so a
# root that never ends cannot make the process hold spans without bound.
MAX_PENDING_TRACES = 4096
# Decisions remembered for spans that end after their root (work the request left running).
MAX_DECIDED_TRACES = 4096
BURST_SECONDS = 10.0


class RateBudget:
    """A token bucket: `per_second` successful traces a second on average, in bursts of up to
    BURST_SECONDS' worth (so a quiet service keeps every trace). 0 keeps none."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self.capacity = per_second * BURST_SECONDS
        self._clock = clock
        self._tokens = self.capacity
        self._last = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.per_second)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


def failed(span: ReadableSpan) -> bool:
    return span.status.status_code is StatusCode.ERROR


def synthetic(span: ReadableSpan) -> bool:
    """`logger-app verify` looks for its journey's traces: they never wait for the budget."""
    return bool((span.attributes or {}).get(SYNTHETIC))


def is_local_root(span: ReadableSpan) -> bool:
    return span.parent is None or span.parent.is_remote


class KeepFailedTraces(SpanProcessor):
    """Passes to `export` (the batch span processor) each failed trace whole, and successful
    traces while `budget` allows."""

    def __init__(self, export: SpanProcessor, budget: RateBudget) -> None:
        self.export = export
        self.budget = budget
        self._lock = threading.Lock()
        self._pending: OrderedDict[int, list[ReadableSpan]] = OrderedDict()
        self._decided: OrderedDict[int, bool] = OrderedDict()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.export.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is None or not context.trace_flags.sampled:
            return  # the batch processor would drop it too
        trace_id = context.trace_id
        passed: list[ReadableSpan] = []
        with self._lock:
            if is_local_root(span):
                held = self._pending.pop(trace_id, [])
                keep = (
                    failed(span)
                    or synthetic(span)
                    or any(failed(s) for s in held)
                    or self.budget.take()
                )
                self._decided[trace_id] = keep
                if len(self._decided) > MAX_DECIDED_TRACES:
                    self._decided.popitem(last=False)
                if keep:
                    passed = [*held, span]
            elif (keep_late := self._decided.get(trace_id)) is not None:
                if keep_late or failed(span):
                    passed = [span]
            else:
                self._pending.setdefault(trace_id, []).append(span)
                if len(self._pending) > MAX_PENDING_TRACES:
                    _, passed = self._pending.popitem(last=False)
        for held_span in passed:
            self.export.on_end(held_span)

    def shutdown(self) -> None:
        with self._lock:
            held = [span for spans in self._pending.values() for span in spans]
            self._pending.clear()
        for span in held:
            self.export.on_end(span)
        self.export.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.export.force_flush(timeout_millis)


def keep_failed_traces(
    successful_per_second: float, provider: trace.TracerProvider | None = None
) -> bool:
    """Put KeepFailedTraces in front of the span processors opentelemetry-instrument
    configured (the global provider by default). False (and nothing changes) when every trace
    is to be kept (`inf`), or when the SDK is not configured (OTEL_SDK_DISABLED,
    or no opentelemetry-instrument) or keeps its processors differently.

    The SDK has no public way to wrap a processor already added, so this replaces the contents
    of the provider's processor list in place: the tracers created before (botocore's) share
    that list. tests/unit/test_trace_sampling.py pins the SDK internals it relies on.
    """
    if successful_per_second == float("inf"):
        return False
    provider = provider or trace.get_tracer_provider()
    processors = getattr(provider, "_active_span_processor", None)
    if not isinstance(provider, TracerProvider) or not isinstance(
        processors, SynchronousMultiSpanProcessor
    ):
        return False
    budget = RateBudget(successful_per_second)
    with processors._lock:
        processors._span_processors = tuple(
            KeepFailedTraces(processor, budget) for processor in processors._span_processors
        )
    return True
