"""One ``http.request`` log line per request: method, route template, status, duration.

It runs inside the server span, so the line carries the request's trace id. No client
address, query string or body: they can hold personal data.
"""

import logging
import time
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from logger_app.log_events import HTTP_REQUEST

logger = logging.getLogger("logger_app.http")


class RequestLog:
    """``skip_paths``: the paths logged by no line (the health probes, every few seconds)."""

    def __init__(self, app: ASGIApp, *, skip_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.skip_paths = frozenset(skip_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.skip_paths:
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            logger.info(
                "request handled",
                extra={
                    "event": HTTP_REQUEST,
                    "method": scope["method"],
                    "route": getattr(route, "path", "unmatched"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                },
            )
