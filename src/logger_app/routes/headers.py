"""What the /v1 routes share: the idempotency headers of both writes, and the problem types
every /v1 route may answer with."""

from typing import Annotated, Any

from fastapi import Header

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
    401: ["unauthorized"],
    403: ["insufficient-scope"],
    413: ["body-too-large"],
    422: ["validation-error"],
    503: ["dependency-unavailable", "issuer-unavailable"],
}
# The routes that read a JSON body also refuse one that is not JSON: not UTF-8 or malformed
# (422), sent as another content type (415), or unreadable otherwise (400).
BODY_PROBLEMS = {
    **V1_PROBLEMS,
    400: ["bad-request"],
    415: ["unsupported-media-type"],
    422: [*V1_PROBLEMS[422], "malformed-json"],
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
