"""The processes a benchmark run starts, all on loopback and all ended by their owner:
moto's server, a remote-write sink, the collector, and the app under test."""

import http.client
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from bench.emulator import SERVER_ERROR_MARKER
from harness.builds import build_collector
from harness.collector_config import LocalEndpoints, derive, load
from harness.emulator import AWS_TEST_ENV, bootstrap, reset_moto
from harness.issuer import ISSUER_ENV
from harness.processes import ManagedProcess, free_port, wait_for_http

REPO = Path(__file__).resolve().parents[1]
_SERVER_ERROR = SERVER_ERROR_MARKER.encode()


class Moto:
    """moto's servers (bench/emulator.py) as AWS: one process for DynamoDB and one for SQS,
    reset and bootstrapped before each measurement so that the tables stay small.

    Two processes because AWS runs the two services apart, while one moto process serves one
    request at a time: with one process, an SQS call would wait behind every DynamoDB
    transaction in flight, which AWS never makes it do.
    """

    def __init__(self, workdir: Path, locked: bool = True, werkzeug: bool = False) -> None:
        self._children: dict[str, ManagedProcess] = {}
        self._endpoints: dict[str, str] = {}
        for service in ("dynamodb", "sqs"):
            port = free_port()
            argv = [sys.executable, "-m", "bench.emulator", str(port)]
            argv += [] if locked else ["--no-lock"]
            argv += ["--werkzeug"] if werkzeug else []
            self._endpoints[service] = f"http://127.0.0.1:{port}"
            self._children[service] = ManagedProcess(
                f"moto-{service}",
                argv,
                workdir / f"moto-{service}.log",
                env={**os.environ, "MOTO_PORT": str(port)},
            )

    @property
    def endpoint(self) -> str:
        return self._endpoints["dynamodb"]

    @property
    def sqs_endpoint(self) -> str:
        return self._endpoints["sqs"]

    @property
    def environment(self) -> dict[str, str]:
        """What points boto3 (the app's, the floor's, `logger-app bootstrap`'s) at them."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ENDPOINT_URL_SQS": self.sqs_endpoint}

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self._children.values()]

    def start(self) -> None:
        for service, child in self._children.items():
            child.start()
            wait_for_http(self._endpoints[service] + "/moto-api/")

    def reset(self) -> None:
        """Forget every table, item and message, then create the tables and queues again."""
        for endpoint in self._endpoints.values():
            reset_moto(endpoint)
        bootstrap(self.endpoint, sqs_endpoint=self.sqs_endpoint)

    def log_offset(self) -> dict[str, int]:
        return {name: child.log_path.stat().st_size for name, child in self._children.items()}

    def server_errors_since(self, offsets: Mapping[str, int]) -> int:
        """5xx answers the emulators gave since `offsets` (bench/emulator.py logs each)."""
        errors = 0
        for name, child in self._children.items():
            with child.log_path.open("rb") as log:
                log.seek(offsets[name])
                errors += log.read().count(_SERVER_ERROR)
        return errors

    def stop(self) -> None:
        for child in self._children.values():
            child.stop()


# Components that read the ECS task metadata endpoint: nothing serves it here, and what they
# collect (the task's container stats) is not the app's cost.
ECS_ONLY_RECEIVERS = frozenset({"awsecscontainermetrics"})
ECS_ONLY_DETECTORS = frozenset({"ecs"})


def bench_collector_config(endpoints: LocalEndpoints) -> dict[str, Any]:
    """The local config the e2e tests run, derived from otel-collector.yaml (same receivers,
    processors and batching; a trace file and a remote-write URL in place of X-Ray and AMP),
    less the components that need ECS."""
    config = derive(load(REPO / "otel-collector.yaml"), endpoints)
    for receiver in ECS_ONLY_RECEIVERS:
        config["receivers"].pop(receiver, None)
    detection = config["processors"].get("resourcedetection", {})
    if "detectors" in detection:
        detection["detectors"] = [d for d in detection["detectors"] if d not in ECS_ONLY_DETECTORS]
    pipelines = config["service"]["pipelines"]
    for name in list(pipelines):
        receivers = [r for r in pipelines[name]["receivers"] if r not in ECS_ONLY_RECEIVERS]
        if receivers:
            pipelines[name]["receivers"] = receivers
        else:
            del pipelines[name]
    used = {p for pipeline in pipelines.values() for p in pipeline.get("processors", [])}
    config["processors"] = {k: v for k, v in config["processors"].items() if k in used}
    return config


class Collector:
    """The collector of the telemetry tests (scripts/build-collector.sh), running the derived
    local config; its metrics go to a sink that accepts every remote write."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.sink_port = free_port()
        self.sink = ManagedProcess(
            "sink", [sys.executable, "-m", "bench.sink", str(self.sink_port)], workdir / "sink.log"
        )
        self.endpoints = LocalEndpoints(
            otlp_grpc_port=free_port(),
            otlp_http_port=free_port(),
            health_port=free_port(),
            remote_write_url=f"http://127.0.0.1:{self.sink_port}/api/v1/write",
            trace_file=workdir / "traces.jsonl",
        )
        self.child: ManagedProcess | None = None

    def start(self) -> None:
        self.sink.start()
        wait_for_http(f"http://127.0.0.1:{self.sink_port}/")
        config_path = self.workdir / "otel-collector-bench.yaml"
        config_path.write_text(yaml.safe_dump(bench_collector_config(self.endpoints)))
        self.child = ManagedProcess(
            "collector",
            [str(build_collector()), f"--config={config_path}"],
            self.workdir / "collector.log",
            env={
                "PATH": os.environ.get("PATH", ""),
                "OTEL_RESOURCE_ATTRIBUTES": "service.name=logger-app,deployment.environment=bench",
            },
        )
        self.child.start()
        wait_for_http(f"http://127.0.0.1:{self.endpoints.health_port}/", timeout=60)

    def otlp_endpoint(self, protocol: str = "grpc") -> str:
        """The receiver for OTEL_EXPORTER_OTLP_PROTOCOL `grpc` or `http/protobuf`."""
        port = (
            self.endpoints.otlp_grpc_port if protocol == "grpc" else self.endpoints.otlp_http_port
        )
        return f"http://127.0.0.1:{port}"

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child is not None and self.child.running else None

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()
        self.sink.stop()


def app_environment(
    aws_endpoints: Mapping[str, str], otlp_endpoint: str, extra: Mapping[str, str]
) -> dict[str, str]:
    """The production defaults of `logger-app serve` (no test-speed export intervals)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(AWS_TEST_ENV)
    env.update(ISSUER_ENV)  # the requests carry tokens from the tests' local issuer
    env.update(aws_endpoints)
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp_endpoint
    env.update(extra)
    return env


def readyz_ok(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/readyz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


class App:
    """The app as a real process; `start` returns the seconds from spawn to /readyz 200."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], log_path: Path, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.child = ManagedProcess("app", argv, log_path, env)

    def start(self, timeout: float = 60.0) -> float:
        started = time.perf_counter()
        self.child.start()
        while not readyz_ok(self.port):
            if not self.child.running:
                output = self.child.log_path.read_text(errors="replace")[-4000:]
                raise RuntimeError(f"the app exited during start-up:\n{output}")
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"the app was not ready after {timeout}s")
            time.sleep(0.005)
        return time.perf_counter() - started

    @property
    def pid(self) -> int:
        return self.child.pid

    @property
    def log_path(self) -> Path:
        """The app's stdout and stderr: its JSON log lines."""
        return self.child.log_path

    def log_offset(self) -> int:
        return self.child.log_path.stat().st_size

    def stop(self) -> None:
        self.child.stop()
