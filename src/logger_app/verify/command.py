"""`logger-app verify`: make the journey, watch the sinks, print the table, answer 0 or 1."""

import argparse
import os
import sys
from typing import TextIO

from logger_app.verify.journey import JourneyFailedError, run_journey, synthetic_token
from logger_app.verify.loki import DEFAULT_SELECTOR, LokiLines, LokiSink, WorkerSink
from logger_app.verify.prometheus import prometheus_sink
from logger_app.verify.runner import DEFAULT_DEADLINE_SECONDS, table, watch
from logger_app.verify.sinks import ReadsBefore, Sink
from logger_app.verify.tempo import TempoSink

# Inside the compose stack's app container (`docker compose exec -T app logger-app verify`).
LOCAL_DEFAULTS = {
    "api": "http://localhost:8000",
    "prometheus": "http://prometheus:9090",
    "loki": "http://loki:3100",
    "tempo": "http://tempo:3200",
}
# Exit statuses: a sink missing, and no journey at all.
SINK_MISSING = 1
JOURNEY_FAILED = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    local = ", ".join(f"--{name} {url}" for name, url in LOCAL_DEFAULTS.items())
    parser.description = (
        "Make one synthetic journey (a sign-up and a record) and wait until its counters, "
        "traces and log lines reach every sink. Without an AWS option the local sinks are "
        f"checked at their compose defaults ({local}); with one, only the sinks named."
    )
    parser.add_argument("--api", default=LOCAL_DEFAULTS["api"], help="the API's base URL")
    parser.add_argument("--prometheus", help="Prometheus's URL (the counters)")
    parser.add_argument("--loki", help="Loki's URL (the app's and the worker's log lines)")
    parser.add_argument(
        "--loki-selector",
        default=DEFAULT_SELECTOR,
        help=f"the stream selector of the service's lines (default: {DEFAULT_SELECTOR})",
    )
    parser.add_argument("--tempo", help="Tempo's URL (the traces)")
    parser.add_argument(
        "--token", help="the synthetic client's access token (default: LOGGER_APP_VERIFY_TOKEN)"
    )
    parser.add_argument(
        "--token-url",
        help="OAuth 2.0 token endpoint (Cognito's /oauth2/token): a token by client "
        "credentials, LOGGER_APP_VERIFY_CLIENT_ID and LOGGER_APP_VERIFY_CLIENT_SECRET; "
        "without it nor --token, the local issuer's",
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=DEFAULT_DEADLINE_SECONDS,
        help=f"seconds to wait for every sink (default: {DEFAULT_DEADLINE_SECONDS:g})",
    )
    parser.add_argument("--region", default=os.environ.get("AWS_REGION"), help="AWS region")
    parser.add_argument("--amp-workspace", metavar="ID", help="AMP workspace (the counters)")
    parser.add_argument("--xray", action="store_true", help="X-Ray (the traces)")
    parser.add_argument(
        "--cloudwatch-log-group", metavar="NAME", help="the CloudWatch copy of the log lines"
    )
    parser.add_argument(
        "--cloudwatch-worker-log-group",
        metavar="NAME",
        help="the CloudWatch copy of the worker's lines (default: --cloudwatch-log-group)",
    )


def sinks(args: argparse.Namespace) -> list[Sink]:
    """The sinks asked for."""
    on_aws = bool(args.amp_workspace or args.xray or args.cloudwatch_log_group)
    prometheus = args.prometheus or (None if on_aws else LOCAL_DEFAULTS["prometheus"])
    loki = args.loki or (None if on_aws else LOCAL_DEFAULTS["loki"])
    tempo = args.tempo or (None if on_aws else LOCAL_DEFAULTS["tempo"])
    chosen: list[Sink] = []
    if prometheus:
        chosen.append(prometheus_sink(prometheus))
    if on_aws:
        if not args.region:
            raise SystemExit("logger-app verify: --region (or AWS_REGION) is needed for AWS")
        from logger_app.verify.aws_sinks import aws_sinks

        chosen.extend(
            aws_sinks(
                region=args.region,
                amp_workspace=args.amp_workspace,
                xray=args.xray,
                cloudwatch_log_group=args.cloudwatch_log_group,
                cloudwatch_worker_log_group=args.cloudwatch_worker_log_group,
            )
        )
    if tempo:
        chosen.append(TempoSink(tempo))
    if loki:
        lines = LokiLines(loki, args.loki_selector)
        chosen.extend([LokiSink(lines), WorkerSink(lines)])
    return chosen


def verify(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    checked = sinks(args)
    for sink in checked:
        if isinstance(sink, ReadsBefore):
            sink.before()
    try:
        token = synthetic_token(args.token, args.token_url)
        journey = run_journey(args.api, token)
    except JourneyFailedError as error:
        print(f"logger-app verify: no journey: {error}", file=err)
        return JOURNEY_FAILED
    print(
        f"journey made: patient {journey.patient_id}, record {journey.record_id}, "
        f"traces {', '.join(journey.trace_ids)}; waiting up to {args.deadline:g} s",
        file=out,
        flush=True,
    )
    outcomes = watch(checked, journey, args.deadline)
    print(table(outcomes), file=out, flush=True)
    return SINK_MISSING if any(outcome.failed for outcome in outcomes) else 0
