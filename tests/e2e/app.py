"""The service as a real process: `logger-app serve`, i.e. uvicorn under opentelemetry-instrument,
exactly as the container runs it."""

import json
import os
from pathlib import Path
from typing import Any

from harness.emulator import AWS_TEST_ENV
from harness.issuer import ISSUER_ENV
from harness.processes import BIN, ManagedProcess, free_port
from tests.e2e.processes import http_ok

# Labels that would make series per task (or per container instance, host, process) if the
# collector's resource steps let the ECS resource attributes through.
PER_TASK_LABELS = {
    "cloud_availability_zone",
    "aws_ecs_launchtype",
    "aws_ecs_task_arn",
    "aws_ecs_task_revision",
    "aws_ecs_container_arn",
    "container_id",
    "container_name",
    "aws_ecs_cluster_arn",
    "aws_log_stream_names",
    "cloud_account_id",
    "cloud_provider",
    "cloud_platform",
}


def app_env(aws_endpoint: str, otlp_endpoint: str, ecs_metadata_uri: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(AWS_TEST_ENV)
    env.update(ISSUER_ENV)
    env.update(
        {
            "AWS_ENDPOINT_URL": aws_endpoint,
            # As on ECS (see the README): the aws_ecs detector reads the task metadata endpoint.
            "ECS_CONTAINER_METADATA_URI_V4": ecs_metadata_uri,
            "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "aws_ecs",
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint,
            # Fast export so the tests poll for seconds, not minutes.
            "OTEL_METRIC_EXPORT_INTERVAL": "1000",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "5",
        }
    )
    return env


class App:
    def __init__(
        self, workdir: Path, aws_endpoint: str, otlp_endpoint: str, ecs_metadata_uri: str
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "app.log"
        self.process = ManagedProcess(
            "logger-app",
            [str(BIN / "logger-app"), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            self.log_path,
            env=app_env(aws_endpoint, otlp_endpoint, ecs_metadata_uri),
        )

    def start(self) -> None:
        self.process.start()
        self.process.wait_until(http_ok(f"{self.url}/readyz"))

    def stop(self) -> None:
        self.process.stop()

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines so far (uvicorn's own non-JSON start-up lines are skipped)."""
        lines = []
        for line in self.process.output().splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines
