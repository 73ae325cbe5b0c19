"""Profile the app under one workload: py-spy samples the real process while wrk drives it.

``python -m bench.profile --configuration sdk_disabled --workload signup --seconds 20``
writes a flame graph (SVG) and prints the functions with the most samples, self and total.
Needs py-spy (the `bench` extra) and, in a container, the ptrace capability.
"""

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bench import procfs
from bench.configs import CONFIGURATIONS, WORKLOADS
from bench.fixtures import create_fixtures
from bench.loadgen import LoadResult, run_wrk
from bench.runner import ConfigurationResult, ConfigurationRun, Plan
from bench.services import Collector, Moto


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise RuntimeError("py-spy is not installed (pip install py-spy)")
    return found


# Where a sample's CPU goes: the component of the deepest frame that belongs to one (py-spy's
# frames read "function (path:line)"). Deepest, because a span recorded from a botocore hook or a
# log line written from a handler is the span's or the log's cost, not the caller's. Checked in
# order: the first pattern a frame's path contains names its component.
COMPONENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "OTLP export (batch span processor; metrics each 60 s)",
        (
            "opentelemetry/sdk/trace/export",
            "opentelemetry/exporter",
            "google/protobuf",
            "grpc/",
        ),
    ),
    (
        "metric recording and export",
        (
            "opentelemetry/sdk/metrics",
            "opentelemetry/metrics",
            "logger_app/metrics.py",
            "logger_app/traffic_meter.py",
        ),
    ),
    (
        "span recording (SDK, instrumentations, context)",
        (
            "opentelemetry/",
            "logger_app/trace_sampling.py",
            "logger_app/tracing.py",
            "logger_app/trace_response.py",
        ),
    ),
    ("JWT verification", ("jwt/", "cryptography/", "logger_app/auth/")),
    (
        "JSON logging",
        (
            "logging/",
            "pythonjsonlogger/",
            "logger_app/logs.py",
            "logger_app/request_log.py",
            "logger_app/audit.py",
        ),
    ),
    ("botocore signing", ("botocore/auth.py", "botocore/signers.py", "botocore/credentials.py")),
    (
        "botocore serialisation and parsing",
        (
            "botocore/serialize.py",
            "botocore/parsers.py",
            "botocore/validate.py",
        ),
    ),
    (
        "botocore other (hooks, endpoint, retries) and urllib3",
        (
            "botocore/",
            "boto3/",
            "urllib3/",
            "http/client.py",
        ),
    ),
    (
        "publisher and outbox",
        (
            "logger_app/publisher.py",
            "logger_app/outbox.py",
            "logger_app/batching.py",
            "logger_app/events.py",
        ),
    ),
    ("pydantic", ("pydantic/", "pydantic_core/")),
    ("FastAPI and Starlette", ("fastapi/", "starlette/")),
    ("uvicorn (HTTP parsing, protocol)", ("uvicorn/", "h11/", "httptools/")),
    (
        "thread hops and event loop (anyio, asyncio, threading)",
        (
            "anyio/",
            "asyncio/",
            "concurrent/",
            "threading.py",
            "queue.py",
            "selectors.py",
        ),
    ),
    ("logger_app (the rest)", ("logger_app/",)),
)
OTHER = "other"


def component(frame: str) -> str | None:
    for name, patterns in COMPONENTS:
        if any(pattern in frame for pattern in patterns):
            return name
    return None


def by_component(collapsed: str) -> dict[str, float]:
    """Per cent of the samples per component (largest first), from py-spy's raw output."""
    counts: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        samples += count
        found = [c for c in map(component, stack.split(";")) if c is not None]
        counts[found[-1] if found else OTHER] += count
    return {name: 100 * n / samples for name, n in counts.most_common()} if samples else {}


def component_table(shares: dict[str, float]) -> str:
    rows = ["| Component | % of the app's samples |", "| --- | --- |"]
    rows += [f"| {name} | {share:.1f} |" for name, share in shares.items()]
    return "\n".join(rows)


def top_functions(collapsed: Path, limit: int = 25) -> str:
    """Self and total samples per function from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        samples += count
        frames = stack.split(";")
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    lines = [f"{samples} samples", "", "self %  function"]
    lines += [f"{100 * n / samples:6.1f}  {f}" for f, n in own.most_common(limit)]
    lines += ["", "total %  function"]
    lines += [f"{100 * n / samples:6.1f}  {f}" for f, n in total.most_common(limit)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--configuration", choices=list(CONFIGURATIONS), default="sdk_disabled")
    parser.add_argument("--workload", choices=list(WORKLOADS), default="signup")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--out", type=Path, default=Path("bench-profile"))
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="logger-app-profile-"))
    moto, collector = Moto(workdir), Collector(workdir)
    plan = Plan(startups=1)
    try:
        moto.start()
        collector.start()
        moto.reset()
        run = ConfigurationRun(
            CONFIGURATIONS[args.configuration], moto, collector, workdir, plan, print
        )
        if WORKLOADS[args.workload].baseline:  # the talk's sample endpoint: no fixtures
            app = run.start_baseline()
        else:
            app = run.start_app(ConfigurationResult(args.configuration, "", startup_seconds=[]))
        try:
            baseline = WORKLOADS[args.workload].baseline
            ids = None if baseline else create_fixtures(app.url, workdir / "ids.txt", 50)
            run_wrk(app.url, args.workload, args.concurrency, 2, "warm", ids)
            stem = args.out / f"{args.configuration}-{args.workload}-c{args.concurrency}"
            collapsed = stem.with_suffix(".txt")
            common = [_py_spy(), "record", "--pid", str(app.pid), "--rate", str(args.rate)]
            common += [
                "--duration",
                str(args.seconds),
                "--gil",
                "--nonblocking",
                "--full-filenames",
            ]
            spies = [
                subprocess.Popen([*common, "--format", "raw", "--output", str(collapsed)]),
            ]
            found: list[LoadResult] = []
            load = threading.Thread(
                target=lambda: found.append(
                    run_wrk(app.url, args.workload, args.concurrency, args.seconds + 1, "prof", ids)
                ),
            )
            cpu_before = procfs.cpu_seconds(app.pid)
            load.start()
            for spy in spies:
                spy.wait(timeout=args.seconds + 60)
            load.join()
            # The app's CPU per request while sampled (py-spy's own reads included): the shares
            # below in milliseconds.
            cpu_ms = (procfs.cpu_seconds(app.pid) - cpu_before) * 1000 / max(found[0].requests, 1)
            subprocess.run(
                [
                    "bash",
                    "-c",
                    f"command -v flamegraph.pl >/dev/null && flamegraph.pl {collapsed}"
                    f" > {stem}.svg || true",
                ],
                check=False,
            )
            report = f"app CPU {cpu_ms:.2f} ms per request while sampled\n\n"
            report += component_table(by_component(collapsed.read_text()))
            report += "\n\n" + top_functions(collapsed)
            stem.with_suffix(".top.txt").write_text(report + "\n")
            print(report)
            print(f"\ncollapsed stacks: {collapsed}")
        finally:
            app.stop()
    finally:
        collector.stop()
        moto.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
