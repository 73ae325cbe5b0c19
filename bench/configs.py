"""The app configurations measured side by side, and the workloads driven against each."""

from dataclasses import dataclass, field
from pathlib import Path

from harness.processes import BIN
from logger_app.cli import TELEMETRY_DEFAULTS, serve_command

REPO = Path(__file__).resolve().parents[1]
# The module:attribute `logger-app serve` serves, and the talk's sample endpoint (issue #28).
PRODUCT_APP = "logger_app.main:app"
BASELINE_APP = "bench.baseline:app"


@dataclass(frozen=True)
class Configuration:
    name: str
    description: str
    # False: `python -m uvicorn ...` without opentelemetry-instrument at all.
    instrumented: bool = True
    env: dict[str, str] = field(default_factory=dict)

    def argv(self, port: int) -> list[str]:
        if self.instrumented:
            return [str(BIN / "logger-app"), "serve", "--host", "127.0.0.1", "--port", str(port)]
        # The same uvicorn command that `logger-app serve` execs, less opentelemetry-instrument.
        return serve_command("127.0.0.1", port)[1:]

    def baseline_argv(self, port: int) -> list[str]:
        """The same server command, serving bench/baseline.py's app instead of the product's:
        under opentelemetry-instrument unless the configuration is `bare`."""
        command = [
            BASELINE_APP if arg == PRODUCT_APP else arg for arg in serve_command("127.0.0.1", port)
        ]
        command += ["--app-dir", str(REPO)]
        return command if self.instrumented else command[1:]

    def baseline_environment(self, base: dict[str, str]) -> dict[str, str]:
        # No `logger-app serve` to set the telemetry defaults: the same ones, set here.
        return {**TELEMETRY_DEFAULTS, **base, **self.env}

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        env = {**base, **self.env}
        # `logger-app serve` sets the telemetry defaults itself; the bare command gets the same.
        return env if self.instrumented else {**TELEMETRY_DEFAULTS, **env}


INSTRUMENTED = Configuration(
    "instrumented",
    "logger-app serve: opentelemetry-instrument, SDK on, exporting to the collector",
)
SDK_DISABLED = Configuration(
    "sdk_disabled",
    "logger-app serve with OTEL_SDK_DISABLED=true (still under opentelemetry-instrument)",
    env={"OTEL_SDK_DISABLED": "true"},
)
BARE = Configuration(
    "bare",
    "python -m uvicorn logger_app.main:app without opentelemetry-instrument (no SDK or hooks)",
    instrumented=False,
)
CONFIGURATIONS = {c.name: c for c in (INSTRUMENTED, SDK_DISABLED, BARE)}


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    # The floor: the boto3 calls the request makes, in bench/floor.py (None: no AWS call).
    floor: str | None
    # True: driven against the talk's sample endpoint (bench/baseline.py), not the product.
    baseline: bool = False


WORKLOADS = {
    w.name: w
    for w in (
        Workload("signup", "POST /v1/signups, a new email each time", "signup"),
        Workload("record_create", "POST /v1/records", "record_create"),
        Workload("record_read", "GET /v1/records/{id} of an existing record", "record_read"),
        Workload("record_not_found", "GET /v1/records/{id} of an unknown id", "record_not_found"),
        Workload("health", "GET /healthz (no I/O)", None),
        Workload(
            "baseline",
            "GET /workflow of the talk's sample app: one PutItem + one SendMessage, nothing else",
            None,
            baseline=True,
        ),
    )
}

# What bench/floor.py prints before its JSON result.
FLOOR_MARKER = "BENCH_FLOOR "
LUA_SCRIPT = Path(__file__).resolve().parent / "workload.lua"
