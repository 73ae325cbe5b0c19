"""The sinks of a deployment on AWS: AMP, X-Ray and the CloudWatch copy of the logs."""

from logger_app.verify.amp import AmpSink
from logger_app.verify.cloudwatch import CloudWatchSink
from logger_app.verify.sinks import Sink
from logger_app.verify.xray import XRaySink


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
