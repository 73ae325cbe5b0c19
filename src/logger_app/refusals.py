"""Why AWS did not do what the publisher asked, for one event or a whole call, and how that is
logged: an outage is expected now and then (WARNING), a fault of this deployment needs a person
(ERROR, with AWS's code and message)."""

import logging
from dataclasses import dataclass

from logger_app.aws import AwsPermanentError, AwsUnavailableError, error_code


@dataclass(frozen=True)
class Refusal:
    """Why AWS did not do what was asked, for one event or a whole call."""

    service: str
    code: str
    message: str
    permanent: bool  # a fault of this deployment (needs a person), not an outage

    @classmethod
    def from_error(cls, error: AwsUnavailableError | AwsPermanentError) -> "Refusal":
        if isinstance(error, AwsPermanentError):
            return cls(error.service, error.code, error.message, permanent=True)
        return cls(error.service, error_code(error.__cause__ or error), "", permanent=False)


def log_refusal(logger: logging.Logger, refusal: Refusal, message: str, **fields: str) -> None:
    """One log line for `refusal` on `logger`, at the level its kind calls for."""
    fields.update(dependency=refusal.service, error=refusal.code)
    if refusal.permanent:
        logger.error(message, extra={**fields, "error_message": refusal.message})
    else:
        logger.warning(message, extra=fields)
