"""The few places the service touches the trace itself; spans come from auto-instrumentation."""

from opentelemetry import propagate, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import format_span_id, format_trace_id


def current_trace_id() -> str:
    """The active trace id as 32 hex digits, or "" outside a recorded span."""
    context = trace.get_current_span().get_span_context()
    return format_trace_id(context.trace_id) if context.is_valid else ""


def current_span_id() -> str:
    context = trace.get_current_span().get_span_context()
    return format_span_id(context.span_id) if context.is_valid else ""


def trace_context_headers() -> dict[str, str]:
    """The active context as propagation headers (traceparent, X-Amzn-Trace-Id, ...).

    botocore's SQS instrumentation does not put them into messages; the publisher does.
    """
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


# Background polling that finds nothing should not make a trace every few seconds.
untraced = suppress_instrumentation
