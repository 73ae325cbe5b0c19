"""The collector built from collector/builder-config.yaml, running the derived local config."""

from pathlib import Path

import yaml

from harness.collector_config import LocalEndpoints, derive, load
from harness.processes import ManagedProcess, free_port
from tests.e2e.processes import http_ok

REPO = Path(__file__).resolve().parents[2]


class LocalCollector:
    """Keeps its ports across restarts (the app's OTLP endpoint is fixed); each start writes
    traces to a new file, so a restart never truncates what an earlier run exported."""

    def __init__(
        self, otelcol: Path, workdir: Path, remote_write_url: str, env: dict[str, str]
    ) -> None:
        self.otelcol = otelcol
        self.workdir = workdir
        self.remote_write_url = remote_write_url
        self.env = env
        self.otlp_grpc_port = free_port()
        self.otlp_http_port = free_port()
        self.health_port = free_port()
        self.trace_files: list[Path] = []
        self.process: ManagedProcess | None = None

    @property
    def otlp_grpc_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.otlp_grpc_port}"

    def start(self) -> None:
        generation = len(self.trace_files)
        trace_file = self.workdir / f"traces-{generation}.jsonl"
        endpoints = LocalEndpoints(
            otlp_grpc_port=self.otlp_grpc_port,
            otlp_http_port=self.otlp_http_port,
            health_port=self.health_port,
            remote_write_url=self.remote_write_url,
            trace_file=trace_file,
        )
        config_path = self.workdir / f"otel-collector-local-{generation}.yaml"
        config_path.write_text(
            yaml.safe_dump(derive(load(REPO / "otel-collector.yaml"), endpoints))
        )
        self.trace_files.append(trace_file)
        self.process = ManagedProcess(
            "collector",
            [str(self.otelcol), f"--config={config_path}"],
            self.workdir / "collector.log",
            env=self.env,
        )
        self.process.start()
        self.process.wait_until(http_ok(f"http://127.0.0.1:{self.health_port}/"))

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running
