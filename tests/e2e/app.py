"""The service as a real process: `logger-app serve`, i.e. uvicorn under opentelemetry-instrument,
exactly as the container runs it."""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.processes import ManagedProcess, http_ok
from tests.support import AWS_TEST_ENV, BIN, free_port

# What the aws_ecs detector would report on Fargate: per-task values the collector's resource step
# must keep off metric series. (The detector itself needs the task metadata endpoint.)
FAKE_ECS_RESOURCE = {
    "cloud.provider": "aws",
    "cloud.platform": "aws_ecs",
    "cloud.region": "us-east-1",
    "cloud.availability_zone": "us-east-1a",
    "aws.ecs.launchtype": "fargate",
    "aws.ecs.task.arn": "arn:aws:ecs:us-east-1:123456789012:task/e2e/0123456789abcdef",
    "aws.ecs.task.family": "logger-app",
    "aws.ecs.task.revision": "7",
    "aws.ecs.container.arn": "arn:aws:ecs:us-east-1:123456789012:container/e2e/0123/4567",
    "aws.ecs.cluster.arn": "arn:aws:ecs:us-east-1:123456789012:cluster/e2e",
    "aws.log.stream.names": "logger-app/app/0123456789abcdef",
    "cloud.account.id": "123456789012",
    "container.id": "0123456789abcdef0123456789abcdef-1234567890",
    "container.name": "ip-10-0-1-23.ec2.internal",
    "deployment.environment": "e2e",
}
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


def bootstrap(aws_endpoint: str) -> None:
    env = {**os.environ, **AWS_TEST_ENV, "AWS_ENDPOINT_URL": aws_endpoint}
    subprocess.run([str(BIN / "logger-app"), "bootstrap"], env=env, check=True, timeout=60)


def app_env(aws_endpoint: str, otlp_endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(AWS_TEST_ENV)
    env.update(
        {
            "AWS_ENDPOINT_URL": aws_endpoint,
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint,
            "OTEL_RESOURCE_ATTRIBUTES": ",".join(f"{k}={v}" for k, v in FAKE_ECS_RESOURCE.items()),
            # Fast export so the tests poll for seconds, not minutes.
            "OTEL_METRIC_EXPORT_INTERVAL": "1000",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "5",
        }
    )
    return env


class App:
    def __init__(self, workdir: Path, aws_endpoint: str, otlp_endpoint: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "app.log"
        self.process = ManagedProcess(
            "logger-app",
            [str(BIN / "logger-app"), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            self.log_path,
            env=app_env(aws_endpoint, otlp_endpoint),
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
