"""Errors as ``application/problem+json`` (RFC 9457), each with a stable type and the trace id."""

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import Scope

from logger_app.aws import AwsPermanentError, AwsUnavailableError, error_code
from logger_app.schemas import PATTERN_WORDS
from logger_app.settings import Settings
from logger_app.tracing import current_trace_id

MEDIA_TYPE = "application/problem+json"
JSON = "application/json"
_TYPE_PREFIX = "urn:logger-app:problem:"
# The problem types (by slug) answered here; each module raising others names its own.
BAD_REQUEST = "bad-request"
BODY_TOO_LARGE = "body-too-large"
DEPENDENCY_UNAVAILABLE = "dependency-unavailable"
INTERNAL_ERROR = "internal-error"
MALFORMED_JSON = "malformed-json"
UNSUPPORTED_MEDIA_TYPE = "unsupported-media-type"
VALIDATION_ERROR = "validation-error"
# Where the problem a request was answered with is kept in its ASGI scope (the audit log reads
# its reason).
ANSWERED = "logger_app.problem"

logger = logging.getLogger(__name__)


class Problem(Exception):
    """An error the client is told about: ``slug`` names its stable ``type``; ``reason``, the
    audit log's reason code, is the slug unless a finer one is given (which 401 it was)."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        self.reason = reason or slug


def problem_responses(
    *statuses: int, types: Mapping[int, Sequence[str]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries saying these statuses come as problem documents, each
    naming the problem ``type``s it may carry (by slug, in `types`)."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        response: dict[str, Any] = {"content": {MEDIA_TYPE: {}}}
        slugs = (types or {}).get(status)
        if slugs:
            response["description"] = f"{HTTPStatus(status).phrase}, as a problem of type " + (
                " or ".join(f"`{_TYPE_PREFIX}{slug}`" for slug in slugs)
            )
        responses[status] = response
    return responses


def problem_body(problem: Problem) -> dict[str, Any]:
    return {
        "type": _TYPE_PREFIX + problem.slug,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "trace_id": current_trace_id(),
        **problem.extra,
    }


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(
        problem_body(problem),
        status_code=problem.status,
        headers=problem.headers,
        media_type=MEDIA_TYPE,
    )


def answer(scope: Scope, problem: Problem) -> JSONResponse:
    """The problem's response, noting in the request's scope which problem it answers."""
    scope[ANSWERED] = problem
    return problem_response(problem)


def body_too_large(limit: int) -> Problem:
    return Problem(
        413,
        BODY_TOO_LARGE,
        "Request body too large",
        f"The request body exceeds the limit of {limit} bytes.",
    )


def _validation_problem(error: RequestValidationError, content_type: str | None) -> Problem:
    items = error.errors()
    for item in items:
        if item["type"] == "json_invalid":
            return _malformed_json(item, error.body)
        # FastAPI hands the route the raw bytes when the content type is not JSON.
        if tuple(item["loc"]) == ("body",) and isinstance(item.get("input"), bytes):
            return _unsupported_media_type(content_type)
    # Echo where and why, never the rejected input: it may be personal data.
    errors = [
        {"field": ".".join(str(part) for part in item["loc"]), "message": _message(item)}
        for item in items
    ]
    reasons = "; ".join(f"{item['field']}: {item['message']}" for item in errors)
    return Problem(
        422,
        VALIDATION_ERROR,
        "Invalid request",
        f"Some fields are missing or invalid: {reasons}.",
        extra={"errors": errors},
    )


def _message(item: Mapping[str, Any]) -> str:
    """Pydantic's message, but a pattern said in words and a missing body called one."""
    if item["type"] == "string_pattern_mismatch":
        words = PATTERN_WORDS.get(item.get("ctx", {}).get("pattern", ""))
        if words:
            return f"must be {words}"
    if item["type"] == "missing" and tuple(item["loc"]) == ("body",):
        return "the request has no body: send a JSON object"
    return str(item["msg"])


def _malformed_json(item: Mapping[str, Any], document: Any) -> Problem:
    position = int(item["loc"][-1])
    why = str(item.get("ctx", {}).get("error", "malformed"))
    # The line and column are counted as json.JSONDecodeError counts them.
    text = document if isinstance(document, str) else ""
    line = text.count("\n", 0, position) + 1
    column = position - text.rfind("\n", 0, position)
    return malformed_json(
        f"{why[:1].lower()}{why[1:]} at line {line}, column {column} (character {position})",
        extra={"line": line, "column": column, "position": position},
    )


def malformed_json(why: str, extra: Mapping[str, Any] | None = None) -> Problem:
    return Problem(
        422,
        MALFORMED_JSON,
        "Malformed JSON body",
        f"The body is not valid JSON: {why}.",
        extra=extra,
    )


def _unsupported_media_type(content_type: str | None) -> Problem:
    sent = f"was {content_type[:100]}" if content_type else "had none"
    return Problem(
        415,
        UNSUPPORTED_MEDIA_TYPE,
        "Unsupported media type",
        f"The body must be JSON, sent with Content-Type: {JSON}; this request's content type "
        f"{sent}.",
    )


def _unreadable_body(exc: HTTPException) -> Problem | None:
    """The problem of a body FastAPI could not read as JSON (its 400): malformed JSON when the
    cause says so, else a bad request saying what to send."""
    cause = exc.__cause__
    if isinstance(cause, UnicodeDecodeError):
        # RFC 8259: JSON between systems is UTF-8 (json.loads also takes UTF-16 and UTF-32).
        return malformed_json(
            f"it must be UTF-8 text, and the byte at position {cause.start} is not "
            f"valid {cause.encoding}",
            extra={"position": cause.start},
        )
    if isinstance(cause, RecursionError):
        return malformed_json("its arrays or objects are nested too deeply to be read")
    if exc.status_code == 400:
        return Problem(
            400,
            BAD_REQUEST,
            "Bad request",
            f"The request body could not be read; send a JSON object with Content-Type: {JSON}.",
            headers=exc.headers,
        )
    return None


def _internal_error() -> Problem:
    return Problem(
        500,
        INTERNAL_ERROR,
        "Internal error",
        "Something went wrong on our side. Quote the trace id when you report it.",
    )


_HTTP_TITLES = {404: "Not found", 405: "Method not allowed"}


def install_problem_handlers(app: FastAPI, settings: Settings) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return answer(request.scope, exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        content_type = request.headers.get("content-type")
        return answer(request.scope, _validation_problem(exc, content_type))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        if unreadable := _unreadable_body(exc):
            return answer(request.scope, unreadable)
        title = _HTTP_TITLES.get(exc.status_code, "HTTP error")
        slug = title.lower().replace(" ", "-")
        return answer(
            request.scope,
            Problem(exc.status_code, slug, title, str(exc.detail), headers=exc.headers),
        )

    async def on_unavailable(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AwsUnavailableError)
        logger.warning(
            "dependency unavailable",
            extra={
                "event": "dependency.unavailable",
                "dependency": exc.service,
                "error": error_code(exc.__cause__ or exc),
            },
        )
        return answer(
            request.scope,
            Problem(
                503,
                DEPENDENCY_UNAVAILABLE,
                "Service temporarily unavailable",
                f"{exc.service} is busy or unreachable; nothing was lost. Retry after a moment.",
                headers={"Retry-After": str(settings.retry_after_seconds)},
            ),
        )

    async def on_permanent(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AwsPermanentError)
        # Not the client's fault and not worth a retry: a misconfigured deployment (missing
        # table, missing permission). The log says which, for whoever is paged.
        logger.error(
            "dependency refused the call",
            extra={
                "event": "request.failed",
                "dependency": exc.service,
                "error": exc.code,
                "error_message": exc.message,
            },
        )
        return answer(request.scope, _internal_error())

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unexpected error", extra={"event": "request.failed"}, exc_info=exc)
        return answer(request.scope, _internal_error())

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(AwsUnavailableError, on_unavailable)
    app.add_exception_handler(AwsPermanentError, on_permanent)
    app.add_exception_handler(Exception, on_unexpected)
