"""The sinks of a deployment on AWS: AMP, X-Ray and the CloudWatch copy of the logs.

Each check calls AWS synchronously (a CLI), with the default credential chain (on ECS the
task role) and short timeouts: an AWS that does not answer is a missing sink, never a hang."""

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

from logger_app.verify.sinks import Sink

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


def aws_sinks(
    *,
    region: str,
    amp_workspace: str | None,
    xray: bool,
    cloudwatch_log_group: str | None,
    cloudwatch_worker_log_group: str | None = None,
) -> list[Sink]:
    """The checks of the AWS sinks asked for (each None/False one is left out).

    The worker's lines are looked for in `cloudwatch_worker_log_group` when given (each task
    definition in infra/ has its own DurableLogs group), else in `cloudwatch_log_group`."""
    # Imported here: the sink modules use this module's helpers.
    from logger_app.verify.amp import AmpSink
    from logger_app.verify.cloudwatch import CloudWatchSink
    from logger_app.verify.xray import XRaySink

    sinks: list[Sink] = []
    if amp_workspace is not None:
        sinks.append(AmpSink(region=region, workspace=amp_workspace))
    if xray:
        sinks.append(XRaySink(region=region))
    if cloudwatch_log_group is not None:
        sinks.append(
            CloudWatchSink(
                region=region,
                log_group=cloudwatch_log_group,
                worker_log_group=cloudwatch_worker_log_group or cloudwatch_log_group,
            )
        )
    return sinks
