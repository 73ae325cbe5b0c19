"""What the checks of the AWS sinks (amp, xray, cloudwatch; aws_sinks picks them) share.

Each check calls AWS synchronously (a CLI), with the default credential chain (on ECS the
task role) and short timeouts: an AWS that does not answer is a missing sink, never a hang."""

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

# One attempt more than none: the check is repeated until its deadline anyway.
CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2})

_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
    }
)


def why_failed(error: Exception, *, service: str, permission: str) -> str:
    """What a failed AWS call means, in words (the error's code only: never its body)."""
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return "no AWS credentials (on ECS: the task has no role)"
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", "")) or "an error"
        if code in _DENIED:
            return f"the task role lacks {permission} ({code})"
        return f"{service} refused the query: {code}"
    if isinstance(error, BotoCoreError):
        return f"{service} unreachable: {type(error).__name__}"
    return f"{service} query failed: {type(error).__name__}"
