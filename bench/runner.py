"""One benchmark run: the stack, then each configuration in turn on a freshly reset emulator."""

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import procfs
from bench.configs import CONFIGURATIONS, FLOOR_MARKER, WORKLOADS, Configuration
from bench.fixtures import create_fixtures
from bench.loadgen import LoadResult, run_wrk
from bench.publish_delay import QueueReader, collect, read_commits
from bench.rounds import merge_configuration, merge_floors
from bench.services import App, Collector, Moto, app_environment
from harness.emulator import AWS_TEST_ENV
from harness.issuer import ISSUER_ENV
from harness.processes import free_port
from logger_app.settings import Settings


@dataclass(frozen=True)
class Plan:
    configurations: Sequence[str] = ("instrumented", "sdk_disabled", "bare")
    workloads: Sequence[str] = tuple(WORKLOADS)
    concurrencies: Sequence[int] = (1, 8, 32)
    seconds: float = 8.0
    warmup_seconds: float = 2.0
    startups: int = 3
    rounds: int = 2
    floor_iterations: int = 300
    settle_seconds: float = 0.3
    fixture_records: int = 50
    moto_locked: bool = True
    moto_werkzeug: bool = False
    event_loop_probe: bool = True
    # How long to wait, after a write workload's window, for every commit's event to reach SQS.
    publish_timeout_seconds: float = 10.0
    # Extra environment for the app, e.g. LOGGER_APP_AWS_CONCURRENCY=8 (to try a setting).
    app_env: tuple[tuple[str, str], ...] = ()


@dataclass
class Measurement:
    configuration: str
    workload: str
    concurrency: int
    requests: int
    seconds: float
    throughput_rps: float
    errors: int
    unexpected_statuses: str
    latency_ms: dict[str, float]
    app_cpu_ms_per_request: float
    app_cpu_cores: float  # the app's CPU seconds per second of the run
    moto_cpu_ms_per_request: float
    moto_cpu_cores: float
    moto_server_errors: int  # 5xx answers of moto itself (the app retries them, then 503s)
    collector_cpu_ms_per_request: float | None
    # Write workloads: commit (the app's log line) to message in SQS (its SentTimestamp), for
    # the commits of the measured window (bench/publish_delay.py); None for the others.
    publish_delay: dict[str, Any] | None = None


@dataclass
class ConfigurationResult:
    name: str
    description: str
    startup_seconds: list[float]
    rss_mb_at_ready: float = 0.0
    rss_mb_after_load: float = 0.0
    peak_rss_mb: float = 0.0
    measurements: list[Measurement] = field(default_factory=list)
    # /healthz at c=1 while sign-ups run at c=32: is the event loop ever blocked?
    event_loop_probe: dict[str, Any] = field(default_factory=dict)


Log = Callable[[str], None]

# The workloads whose requests commit a write and publish its event.
WRITE_WORKLOADS = frozenset({"signup", "record_create"})


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure_floors(moto: Moto, plan: Plan, log: Log) -> dict[str, dict[str, Any]]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        **AWS_TEST_ENV,
        **ISSUER_ENV,
        **moto.environment,
        "LOGGER_APP_LOG_LEVEL": "WARNING",
    }
    floors: dict[str, dict[str, Any]] = {}
    for workload in plan.workloads:
        floor = WORKLOADS[workload].floor
        if floor is None:
            continue
        completed = subprocess.run(
            [sys.executable, "-m", "bench.floor", floor, str(plan.floor_iterations)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        [line] = [x for x in completed.stdout.splitlines() if x.startswith(FLOOR_MARKER)]
        result: dict[str, Any] = json.loads(line[len(FLOOR_MARKER) :])
        floors[workload] = result
        calls = " + ".join(result["calls"])
        log(f"floor {workload}: {result['cpu_ms_per_op']:.2f} ms CPU per request ({calls})")
    return floors


class ConfigurationRun:
    def __init__(
        self,
        configuration: Configuration,
        moto: Moto,
        collector: Collector,
        workdir: Path,
        plan: Plan,
        log: Log,
    ) -> None:
        self.configuration = configuration
        self.moto = moto
        self.collector = collector
        self.workdir = workdir
        self.plan = plan
        self.log = log
        self.tag = uuid.uuid4().hex[:8]
        self.queue = QueueReader(moto.sqs_endpoint, _queue_name(plan))

    def _app(self, generation: int) -> App:
        port = free_port()
        extra = dict(self.plan.app_env)
        otlp = self.collector.otlp_endpoint(extra.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"))
        base = app_environment(self.moto.environment, otlp, extra)
        return App(
            self.configuration.argv(port),
            self.configuration.environment(base),
            self.workdir / f"app-{self.configuration.name}-{generation}.log",
            port,
        )

    def start_baseline(self) -> App:
        """The talk's sample endpoint (bench/baseline.py) under this configuration's server
        command and telemetry, beside the product's app; not timed, not in the memory figures."""
        port = free_port()
        extra = dict(self.plan.app_env)
        otlp = self.collector.otlp_endpoint(extra.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"))
        base = app_environment(self.moto.environment, otlp, extra)
        app = App(
            self.configuration.baseline_argv(port),
            self.configuration.baseline_environment(base),
            self.workdir / f"baseline-{self.configuration.name}.log",
            port,
        )
        try:
            seconds = app.start()
        except BaseException:
            app.stop()
            raise
        self.log(f"{self.configuration.name}: baseline app ready in {seconds:.2f} s")
        return app

    def start_app(self, result: ConfigurationResult) -> App:
        """Start the app `startups` times, timing each to /readyz; the last one stays up."""
        for generation in range(self.plan.startups):
            app = self._app(generation)
            try:
                result.startup_seconds.append(app.start())
            except BaseException:
                app.stop()
                raise
            if generation < self.plan.startups - 1:
                app.stop()
        startups = ", ".join(f"{s:.2f}" for s in result.startup_seconds)
        self.log(f"{result.name}: start-up {startups} s")
        return app

    def measure(self, app: App, workload: str, concurrency: int) -> Measurement:
        """One workload at one concurrency, on a freshly reset emulator: moto's
        TransactWriteItems deep-copies the whole table, so its cost grows with the table."""
        name = self.configuration.name
        prefix = f"{self.tag}-{workload}-{concurrency}"
        self.moto.reset()
        ids = None
        if workload in ("record_create", "record_read"):
            ids = create_fixtures(
                app.url, self.workdir / f"ids-{name}.txt", self.plan.fixture_records
            )
        if self.plan.warmup_seconds > 0:
            run_wrk(app.url, workload, concurrency, self.plan.warmup_seconds, prefix + "w", ids)
        dynamodb_pid, sqs_pid = self.moto.pids
        pids = {
            "app": app.pid,
            "moto": dynamodb_pid,
            "moto_sqs": sqs_pid,
            "collector": self.collector.pid,
        }
        moto_log = self.moto.log_offset()
        app_log = app.log_offset()  # the warm-up's commits are before it
        before = {k: procfs.cpu_seconds(p) for k, p in pids.items() if p is not None}
        load = run_wrk(app.url, workload, concurrency, self.plan.seconds, prefix, ids)
        # In-flight requests (at most `concurrency`) finish; their CPU is a rounding error.
        time.sleep(self.plan.settle_seconds)
        cpu = {k: procfs.cpu_seconds(p) - before[k] for k, p in pids.items() if p is not None}
        cpu["moto"] += cpu.pop("moto_sqs")  # both emulators: "moto cores" in the report
        per_request = {k: v * 1000 / max(load.requests, 1) for k, v in cpu.items()}
        measurement = Measurement(
            configuration=name,
            workload=workload,
            concurrency=concurrency,
            requests=load.requests,
            seconds=load.seconds,
            throughput_rps=load.throughput,
            errors=load.errors,
            unexpected_statuses=load.unexpected_statuses,
            latency_ms=load.latency_ms,
            app_cpu_ms_per_request=per_request["app"],
            app_cpu_cores=cpu["app"] / load.seconds,
            moto_cpu_ms_per_request=per_request["moto"],
            moto_cpu_cores=cpu["moto"] / load.seconds,
            moto_server_errors=self.moto.server_errors_since(moto_log),
            collector_cpu_ms_per_request=per_request.get("collector"),
        )
        publish = ""
        if workload in WRITE_WORKLOADS:
            measurement.publish_delay = self.publish_delay(app, app_log)
            delay = measurement.publish_delay
            publish = (
                f", publish delay p50 {_ms(delay['p50_ms'])} p99 {_ms(delay['p99_ms'])} ms "
                f"({delay['missing']} of {delay['commits']} never published)"
            )
        self.log(
            f"{name} {workload} c={concurrency}: {load.throughput:.0f} req/s, "
            f"p50 {load.latency_ms['p50']:.1f} p99 {load.latency_ms['p99']:.1f} ms, "
            f"errors {load.errors} (moto 5xx {measurement.moto_server_errors}), "
            f"app {per_request['app']:.2f} ms CPU/req "
            f"({measurement.app_cpu_cores:.2f} cores), moto {measurement.moto_cpu_cores:.2f} cores"
            + publish
        )
        return measurement

    def publish_delay(self, app: App, window_start: int) -> dict[str, Any]:
        """Commit to SQS for the writes committed since `window_start` (the app log's offset
        when the measured window began), until now: waits, up to the plan's limit, for each
        commit's message (the app may publish after answering). Before the next reset."""
        commits, _ = read_commits(app.log_path, window_start)
        found = collect(commits, self.queue.receiver(), self.plan.publish_timeout_seconds)
        return found.as_dict()

    def probe_event_loop(self, app: App, background: str = "signup") -> dict[str, Any]:
        """Health checks at c=1 while 32 connections of `background` wait on moto.

        /healthz does no I/O: if no handler blocks the event loop, its latency stays near its
        idle value however many requests are waiting on AWS calls in the worker threads.
        """
        self.moto.reset()
        seconds = self.plan.seconds
        found: dict[str, LoadResult] = {}

        def load() -> None:
            found["background"] = run_wrk(
                app.url, background, 32, seconds + 2, f"{self.tag}-probe", None
            )

        thread = threading.Thread(target=load)
        thread.start()
        time.sleep(1.0)
        probe = run_wrk(app.url, "health", 1, seconds, f"{self.tag}-probe-health", None)
        thread.join()
        back = found["background"]
        result = {
            "background": f"{background} at c=32",
            "background_throughput_rps": back.throughput,
            "background_errors": back.errors,
            "health_throughput_rps": probe.throughput,
            "health_errors": probe.errors,
            "health_latency_ms": probe.latency_ms,
        }
        self.log(
            f"{self.configuration.name} event-loop probe: /healthz p50 "
            f"{probe.latency_ms['p50']:.1f} p99 {probe.latency_ms['p99']:.1f} ms "
            f"under {background} c=32 ({back.throughput:.0f} req/s)"
        )
        return result

    def finish(self, app: App, result: ConfigurationResult) -> None:
        if self.plan.event_loop_probe:
            result.event_loop_probe = self.probe_event_loop(app)
        sample = procfs.sample(app.pid)
        result.rss_mb_after_load, result.peak_rss_mb = sample.rss_mb, sample.peak_rss_mb
        self.log(f"{result.name}: RSS {sample.rss_mb:.0f} MiB, peak {sample.peak_rss_mb:.0f}")


def _queue_name(plan: Plan) -> str:
    """The app's event queue: as the app reads it (its environment), else the default."""
    variable = "LOGGER_APP_QUEUE_NAME"
    found = dict(plan.app_env).get(variable) or os.environ.get(variable)
    return found or str(Settings.model_fields["queue_name"].default)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def run_round(
    plan: Plan, moto: Moto, collector: Collector, workdir: Path, log: Log, round_number: int
) -> list[dict[str, Any]]:
    """Every configuration's app runs at once (idle but for its background threads); each
    workload and concurrency is measured for one configuration after the other, so the
    configurations compared are measured seconds apart, not minutes. The order rotates with the
    round, so that none is always first."""
    names = list(plan.configurations)
    shift = (round_number - 1) % len(names)
    order = names[shift:] + names[:shift]
    runs = {
        n: ConfigurationRun(CONFIGURATIONS[n], moto, collector, workdir, plan, log) for n in names
    }
    results = {
        n: ConfigurationResult(n, CONFIGURATIONS[n].description, startup_seconds=[]) for n in names
    }
    apps: dict[str, App] = {}
    baselines: dict[str, App] = {}
    try:
        for name in order:
            moto.reset()
            apps[name] = runs[name].start_app(results[name])
            results[name].rss_mb_at_ready = procfs.sample(apps[name].pid).rss_mb
            if any(WORKLOADS[w].baseline for w in plan.workloads):
                baselines[name] = runs[name].start_baseline()
        for workload in plan.workloads:
            served = baselines if WORKLOADS[workload].baseline else apps
            for concurrency in plan.concurrencies:
                for name in order:
                    measurement = runs[name].measure(served[name], workload, concurrency)
                    results[name].measurements.append(measurement)
        for name in order:
            runs[name].finish(apps[name], results[name])
    finally:
        for app in [*apps.values(), *baselines.values()]:
            app.stop()
    return [asdict(results[n]) for n in names]


def run(plan: Plan, workdir: Path, log: Log = _log) -> dict[str, Any]:
    load_before = procfs.load_average()
    started = time.time()
    moto = Moto(workdir, locked=plan.moto_locked, werkzeug=plan.moto_werkzeug)
    collector = Collector(workdir)
    try:
        moto.start()
        collector.start()
        log(f"moto: {moto.environment}, collector on {collector.otlp_endpoint()}")
        floor_rounds: list[dict[str, dict[str, Any]]] = []
        config_rounds: list[list[dict[str, Any]]] = []
        for round_number in range(1, plan.rounds + 1):
            log(f"round {round_number} of {plan.rounds}")
            moto.reset()
            floor_rounds.append(measure_floors(moto, plan, log))
            config_rounds.append(run_round(plan, moto, collector, workdir, log, round_number))
    finally:
        collector.stop()
        moto.stop()
    return {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "wall_seconds": round(time.time() - started, 1),
        "load_average_before": load_before,
        "load_average_after": procfs.load_average(),
        "plan": asdict(plan),
        "floors": merge_floors(floor_rounds),
        "configurations": [
            merge_configuration([r[n] for r in config_rounds])
            for n in range(len(plan.configurations))
        ],
        "rounds": {"floors": floor_rounds, "configurations": config_rounds},
    }
