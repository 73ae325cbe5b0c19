"""Reject request bodies over the configured size before anything parses them.

FastAPI 0.165 has its own ``max_body_size`` (Starlette's RequestBodyLimitMiddleware), but when
the declared Content-Length is over the limit that middleware replaces whatever the app answers
with a plain-text 413 from inside its send wrapper: the problem+json answer cannot survive it.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from logger_app.problems import answer, body_too_large


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await answer(scope, body_too_large(self.max_bytes))(scope, receive, send)
            return

        # A chunked body (or a lying Content-Length) is counted as it streams in. Whatever the
        # app answers once the limit is crossed (FastAPI turns a failed body read into a 400)
        # is replaced by the 413.
        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise body_too_large(self.max_bytes)
            return message

        async def guarded_send(message: Message) -> None:
            if not too_large:
                await send(message)
            elif message["type"] == "http.response.start":
                await answer(scope, body_too_large(self.max_bytes))(scope, receive, send)

        await self.app(scope, limited_receive, guarded_send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
