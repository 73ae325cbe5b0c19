"""``logger-app``: serve the API, run the event worker, bootstrap the tables and queues, or mint
a local access token."""

import argparse
import ipaddress
import os
import shutil
import sys
from collections.abc import Mapping, Sequence

from logger_app.log_events import API_SERVICE, WORKER_SERVICE
from logger_app.scopes import SCOPES

WORKER_SERVICE_NAME = WORKER_SERVICE

# Suited to the ADOT collector sidecar on localhost:4317; any variable already set wins.
# infra/ sets the same on ECS (a test compares the two).
TELEMETRY_DEFAULTS: Mapping[str, str] = {
    "OTEL_SERVICE_NAME": API_SERVICE,
    "OTEL_TRACES_EXPORTER": "otlp",
    "OTEL_METRICS_EXPORTER": "otlp",
    # stdout carries the logs (FireLens ships them); the collector has no logs pipeline.
    "OTEL_LOGS_EXPORTER": "none",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4317",
    # Prometheus remote write drops delta sums, so stay cumulative end to end.
    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "cumulative",
    "OTEL_PROPAGATORS": "tracecontext,baggage,xray",
    # X-Ray accepts only trace ids whose first 8 hex digits are the epoch seconds.
    "OTEL_PYTHON_ID_GENERATOR": "xray",
    # create_app applies the FastAPI instrumentation itself, with the options this cannot set.
    "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "fastapi",
    # Stable HTTP conventions: the server histogram is labelled by route, method and status,
    # not by the client's Host header (which would let any client mint new series).
    "OTEL_SEMCONV_STABILITY_OPT_IN": "http",
    # No exemplars (trace ids sampled into histogram points): no dashboard or data source reads
    # them, and offering each measurement to the reservoirs costs CPU on every request.
    "OTEL_METRICS_EXEMPLAR_FILTER": "always_off",
}


def instrumented(*python_args: str) -> list[str]:
    """This Python, running the given arguments under opentelemetry-instrument."""
    instrument = shutil.which("opentelemetry-instrument") or os.path.join(
        os.path.dirname(sys.executable), "opentelemetry-instrument"
    )
    return [instrument, sys.executable, *python_args]


# The proxies whose X-Forwarded-For is believed (the client address in spans): loopback unless
# LOGGER_APP_TRUSTED_PROXIES says otherwise (infra/ sets the VPC's CIDR, where the load
# balancers are).
TRUSTED_PROXIES_VARIABLE = "LOGGER_APP_TRUSTED_PROXIES"
LOOPBACK = "127.0.0.1,::1"


def trusted_proxies(environ: Mapping[str, str]) -> str:
    """The trusted proxies, comma-separated addresses or networks, each checked: never `*`,
    which would let any client choose the address the service reports for it."""
    entries = [
        entry.strip() for entry in environ.get(TRUSTED_PROXIES_VARIABLE, LOOPBACK).split(",")
    ]
    for entry in filter(None, entries):
        try:
            ipaddress.ip_network(entry)
        except ValueError:
            raise SystemExit(
                f"logger-app: invalid configuration:\n  {TRUSTED_PROXIES_VARIABLE}: {entry!r} is "
                "not an IP address or network (e.g. 10.40.0.0/16); `*` is never accepted"
            ) from None
    return ",".join(filter(None, entries))


def serve_command(host: str, port: int, proxies: str = LOOPBACK) -> list[str]:
    """One uvicorn worker under opentelemetry-instrument: auto-instrumentation does not follow
    uvicorn's spawned workers, so a task scales by running more tasks, not more workers."""
    return instrumented(
        "-m",
        "logger_app.server",
        "logger_app.main:app",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
        "--proxy-headers",
        # Behind the load balancer the client address arrives in X-Forwarded-For, believed
        # only from these peers.
        "--forwarded-allow-ips",
        proxies,
        "--no-access-log",
        "--no-server-header",
        # The API has no WebSocket route: without this uvicorn imports a WebSocket library for
        # nothing (about 5 MiB of the process's memory, issue #28).
        "--ws",
        "none",
        "--timeout-graceful-shutdown",
        "20",
    )


def telemetry_environment(environ: Mapping[str, str], **defaults: str) -> dict[str, str]:
    return {**TELEMETRY_DEFAULTS, **defaults, **environ}


def run_instrumented(command: list[str], **defaults: str) -> None:
    # exec keeps the PID, so ECS's SIGTERM reaches the process directly.
    environment = telemetry_environment(os.environ, **defaults)
    os.execve(command[0], command, environment)  # noqa: S606 (fixed argv, no shell)


def positive_seconds(value: str) -> int:
    """argparse type for --lifetime: a token that is expired when minted is of no use."""
    try:
        seconds = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {value!r}") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {seconds}")
    return seconds


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="logger-app", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser("serve", help="serve the API (production server)")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    commands.add_parser("worker", help="consume the event queue (its own process)")

    bootstrap_parser = commands.add_parser(
        "bootstrap", help="create the DynamoDB tables and SQS queues (local emulator, tests)"
    )
    bootstrap_parser.add_argument(
        "--endpoint-url",
        help="AWS endpoint, e.g. the emulator's http://127.0.0.1:5000 (default: as boto3 reads "
        "AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>)",
    )

    token_parser = commands.add_parser(
        "token",
        help="print an access token from the local issuer (make run's); no use against AWS",
    )
    token_parser.add_argument(
        "--scope",
        action="append",
        required=True,
        choices=list(SCOPES),
        help="a scope the token carries (repeat for several)",
    )
    token_parser.add_argument(
        "--issuer-dir",
        help="the local issuer's key directory (default: LOGGER_APP_LOCAL_ISSUER_DIR, "
        "else the .local-issuer of the logger-app checkout holding the current directory or "
        "this install, as make run uses)",
    )
    token_parser.add_argument(
        "--lifetime",
        type=positive_seconds,
        default=900,
        help="seconds until it expires, more than 0 (default: 900)",
    )

    verify_parser = commands.add_parser(
        "verify", help="prove a synthetic journey reaches every sink (docs/verify.md)"
    )
    from logger_app.verify.command import add_arguments

    add_arguments(verify_parser)

    args = parser.parse_args(argv)
    if args.command == "serve":
        run_instrumented(serve_command(args.host, args.port, trusted_proxies(os.environ)))
    elif args.command == "worker":
        run_instrumented(
            instrumented("-m", "logger_app.worker"), OTEL_SERVICE_NAME=WORKER_SERVICE_NAME
        )
    elif args.command == "verify":
        from logger_app.verify.command import verify

        sys.exit(verify(args))
    elif args.command == "token":
        from pathlib import Path

        from logger_app.issuer_dir import IssuerNotFoundError, issuer_dir
        from logger_app.local_issuer import mint

        try:
            directory = issuer_dir(args.issuer_dir, os.environ, Path.cwd(), Path(__file__))
        except IssuerNotFoundError as error:
            token_parser.exit(1, f"logger-app token: {error}\n")
        print(mint(directory, args.scope, lifetime_seconds=args.lifetime))
    else:
        # Imported here: serve and worker exec at once and need neither boto3 nor settings
        # (each checks its region and credentials itself, once started).
        from logger_app.aws import require_region_and_credentials
        from logger_app.bootstrap import bootstrap
        from logger_app.settings import get_settings

        settings = get_settings()
        require_region_and_credentials(settings)
        print(bootstrap(settings, endpoint_url=args.endpoint_url))
