"""The ``traceresponse`` header (W3C Trace Context Level 2) on every answer: the trace id of
the request, success or not, so a caller (``logger-app verify``, a client quoting it to
support) can find its trace and log lines. A problem's body carries the same id as
``trace_id``.

Format ``00-<trace id>-<span id>-<flags>``: the server span's ids, and its sampled flag.
"""

from opentelemetry import trace
from opentelemetry.trace import format_span_id, format_trace_id
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "traceresponse"


def trace_response() -> str | None:
    """The active span as a traceresponse value, or None outside a valid span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    flags = "01" if context.trace_flags.sampled else "00"
    return f"00-{format_trace_id(context.trace_id)}-{format_span_id(context.span_id)}-{flags}"


class TraceResponse:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                value = trace_response()
                if value is not None:
                    MutableHeaders(scope=message)[HEADER] = value
            await send(message)

        await self.app(scope, receive, send_with_header)
