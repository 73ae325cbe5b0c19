"""What the /v1 routes share: the idempotency headers of both writes, and the problem types
every /v1 route may answer with."""

from typing import Annotated, Any

from fastapi import Header

from logger_app import problems
from logger_app.auth.dependency import INSUFFICIENT_SCOPE
from logger_app.auth.tokens import ISSUER_UNAVAILABLE, UNAUTHORIZED

# A write whose Idempotency-Key was used before by the same client, with the same body, answers
# with the first answer and this header.
REPLAYED = "Idempotent-Replayed"

IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        description="Makes a retry safe: the same key and body, from the same client, within "
        "a day, return the first answer (with `Idempotent-Replayed: true`) and write nothing; "
        "the same key with another body is refused (409). Another client's same key is "
        "another key.",
    ),
]

# By status: the problem types of the token check, the body limit, validation and AWS.
V1_PROBLEMS = {
    401: [UNAUTHORIZED],
    403: [INSUFFICIENT_SCOPE],
    413: [problems.BODY_TOO_LARGE],
    422: [problems.VALIDATION_ERROR],
    503: [problems.DEPENDENCY_UNAVAILABLE, ISSUER_UNAVAILABLE],
}
# The routes that read a JSON body also refuse one that is not JSON: not UTF-8 or malformed
# (422), sent as another content type (415), or unreadable otherwise (400).
BODY_PROBLEMS = {
    **V1_PROBLEMS,
    400: [problems.BAD_REQUEST],
    415: [problems.UNSUPPORTED_MEDIA_TYPE],
    422: [*V1_PROBLEMS[422], problems.MALFORMED_JSON],
}
BODY_STATUSES = (400, 401, 403, 413, 415, 422, 503)


def replayed_response(status: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entry of a write's success, with its replay header."""
    return {
        status: {
            "headers": {
                REPLAYED: {
                    "description": "`true` when this is the first answer to an earlier request "
                    "with the same Idempotency-Key and body",
                    "schema": {"type": "string", "enum": ["true"]},
                }
            }
        }
    }
