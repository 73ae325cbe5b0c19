"""aws_sinks: the checks of the AWS sinks asked for, and only those."""

from logger_app.verify.amp import AmpSink
from logger_app.verify.aws_sinks import aws_sinks


def test_each_sink_asked_for_in_report_order() -> None:
    sinks = aws_sinks(
        region="eu-west-1",
        amp_workspace="ws-1",
        xray=True,
        cloudwatch_log_group="logger-app-DurableLogs",
    )

    assert [sink.name for sink in sinks] == ["amp", "xray", "cloudwatch"]


def test_none_asked_for_none_made() -> None:
    assert (
        aws_sinks(region="eu-west-1", amp_workspace=None, xray=False, cloudwatch_log_group=None)
        == []
    )


def test_amp_queries_the_workspace_in_its_region() -> None:
    (sink,) = aws_sinks(
        region="eu-west-1", amp_workspace="ws-1", xray=False, cloudwatch_log_group=None
    )

    assert isinstance(sink, AmpSink)
    assert sink.api == "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1"
