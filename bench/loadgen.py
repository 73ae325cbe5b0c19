"""Driving the app with wrk (closed loop: each connection sends its next request when the last
one is answered), one workload at one concurrency; the Lua script reports a JSON line."""

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.configs import LUA_SCRIPT
from harness.issuer import token

_MARKER = "BENCH_RESULT "


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int  # socket errors and timeouts plus answers with an unexpected status
    unexpected_statuses: str
    latency_ms: dict[str, float]  # mean, p50, p95, p99, max

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_binary() -> str:
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed: run bench/setup.sh (Debian's `wrk` package)")
    return binary


def run_wrk(
    url: str,
    workload: str,
    concurrency: int,
    seconds: float,
    prefix: str,
    ids_file: Path | None,
    timeout_seconds: int = 10,
) -> LoadResult:
    argv = [
        wrk_binary(),
        # One thread drives 32 connections easily and leaves the cores to the app and moto.
        "--threads=1",
        f"--connections={concurrency}",
        f"--duration={max(1, round(seconds))}s",
        f"--timeout={timeout_seconds}s",
        f"--script={LUA_SCRIPT}",
        url,
        "--",
        workload,
        prefix,
        str(ids_file) if ids_file is not None else "",
        # An access token with every scope, outliving the run.
        token(lifetime_seconds=round(seconds) + 3600),
    ]
    completed = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + timeout_seconds + 30, check=False
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(_MARKER)]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({completed.returncode}):\n{completed.stderr[-2000:]}")
    raw = json.loads(lines[-1][len(_MARKER) :])
    errors = raw["unexpected_status"] + sum(
        raw[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")
    )
    return LoadResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        errors=errors,
        unexpected_statuses=raw["unexpected_statuses"].strip(),
        latency_ms={k: v / 1000 for k, v in raw["latency_us"].items()},
    )
