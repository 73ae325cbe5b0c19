"""Why a message failed, as the worker's log lines say it: never quoting the message."""

import traceback

from botocore.exceptions import ClientError

from logger_app.aws import AwsPermanentError, AwsUnavailableError, error_code
from logger_app.events import MalformedEventError

AWS_ERRORS = (AwsUnavailableError, AwsPermanentError)


class PoisonEventError(Exception):
    """The event can never be handled as it is (unknown type, missing patient). Its text is
    ours, never the event's: it is logged."""


class StoppedError(Exception):
    """The worker was asked to stop while it waited for DynamoDB; the batch goes back."""


def error_fields(error: BaseException) -> dict[str, str]:
    """An AWS error as log fields: AWS's code (or botocore's exception), and its message."""
    cause = error.__cause__ if isinstance(error, AwsUnavailableError) else error
    if isinstance(cause, ClientError):  # AWS's own code and message, read as for a refusal
        error = AwsPermanentError.from_error("", cause)
    if isinstance(error, AwsPermanentError):
        return {"error": error.code, "error_message": error.message}
    return {"error": error_code(cause or error)}


def failure_fields(error: Exception) -> dict[str, str]:
    """Why a message failed, as log fields, never quoting the message: our own reasons, AWS's
    error, or, for anything unexpected, the exception's type and where it was raised."""
    if isinstance(error, MalformedEventError | PoisonEventError):
        return {"error": type(error).__name__, "reason": str(error)}
    if isinstance(error, AWS_ERRORS):
        return error_fields(error)
    return {"error": type(error).__name__, "error_at": raised_at(error)}


def raised_at(error: BaseException) -> str:
    """``file:line`` of the innermost frame of ours (logger_app) the exception went through."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if "/logger_app/" in frame.filename] or frames
    if not ours:
        return ""
    frame = ours[-1]
    return f"logger_app/{frame.filename.rsplit('/logger_app/', 1)[-1]}:{frame.lineno}"
