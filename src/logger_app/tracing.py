"""The few places the service touches the trace itself; spans come from auto-instrumentation."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from opentelemetry import propagate, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import format_span_id, format_trace_id

from logger_app import synthetic


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


REDACTED = "REDACTED"
# A pattern no header name matches, as the server span's header capture lists: given here, they
# replace OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_*, so no header (Authorization
# carries the bearer token) ever becomes a span attribute, whatever the environment says.
NO_HEADERS = ["(?!)"]


def redact_query_string(span: trace.Span, scope: Mapping[str, Any]) -> None:
    """The server span's request hook: no attribute keeps the request's query string.

    The ASGI instrumentation (0.66b2) writes it raw into ``url.query`` (stable HTTP conventions)
    and into ``http.url`` / ``url.full`` (the old ones, and ``http/dup``), where a token or an
    email a client put there would reach X-Ray. The API takes no query parameters, so nothing
    is lost: ``url.query`` becomes REDACTED, and so does the query in any other attribute
    holding one (whichever names the installed version uses). The hook runs after the
    instrumentation has set the request's attributes and before anything exports the span.
    """
    raw = scope.get("query_string")
    if not raw or not span.is_recording():
        return
    query = raw.decode("utf-8", "replace")
    forms = {"?" + query, "?" + unquote(query)}
    attributes: Mapping[str, Any] = getattr(span, "attributes", None) or {}
    for name, value in list(attributes.items()):
        if name == "url.query":
            span.set_attribute(name, REDACTED)
        elif isinstance(value, str) and any(form in value for form in forms):
            for form in forms:
                value = value.replace(form, "?" + REDACTED)
            span.set_attribute(name, value)


def server_request_hook(span: trace.Span, scope: Mapping[str, Any]) -> None:
    """The server span's request hook: the request's synthetic mark starts unset, and the query
    string is redacted."""
    synthetic.begin_request()
    redact_query_string(span, scope)
