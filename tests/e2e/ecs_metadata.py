"""A stand-in for the ECS task metadata endpoint v4 (what Fargate serves each container at
ECS_CONTAINER_METADATA_URI_V4), so the app's aws_ecs detector, the collector's ecs detector and
its awsecscontainermetrics receiver run as they do on ECS."""

import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
TASK_ID = "0123456789abcdef0123456789abcdef"
TASK_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/logger-app-e2e/{TASK_ID}"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/logger-app-e2e"
# The task definition's container names, as in infra/ (the app and its two sidecars).
CONTAINERS = ("app", "aws-otel-collector", "log-router")


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _docker_id(name: str) -> str:
    return f"{TASK_ID}-{CONTAINERS.index(name):010d}"


def _container(name: str) -> dict[str, Any]:
    container: dict[str, Any] = {
        "DockerId": _docker_id(name),
        "Name": name,
        "DockerName": f"ecs-logger-app-7-{name}",
        "Image": f"123456789012.dkr.ecr.{REGION}.amazonaws.com/{name}:e2e",
        "ImageID": "sha256:" + "0" * 64,
        "KnownStatus": "RUNNING",
        "Limits": {"CPU": 0, "Memory": 0},
        "CreatedAt": "2026-01-01T00:00:00Z",
        "StartedAt": "2026-01-01T00:00:01Z",
        "Type": "NORMAL",
        "ContainerARN": f"arn:aws:ecs:{REGION}:{ACCOUNT}:container/logger-app-e2e/{TASK_ID}/{name}",
        "Networks": [{"NetworkMode": "awsvpc", "IPv4Addresses": ["10.0.1.23"]}],
    }
    if name == "app":
        container["LogDriver"] = "awsfirelens"
    else:
        container["LogDriver"] = "awslogs"
        container["LogOptions"] = {
            "awslogs-group": "/logger-app/sidecars",
            "awslogs-region": REGION,
            "awslogs-stream": f"{name}/{name}/{TASK_ID}",
        }
    return container


def _task() -> dict[str, Any]:
    return {
        "Cluster": CLUSTER_ARN,
        "TaskARN": TASK_ARN,
        "Family": "logger-app",
        "Revision": "7",
        "DesiredStatus": "RUNNING",
        "KnownStatus": "RUNNING",
        "Limits": {"CPU": 0.5, "Memory": 1024},
        "PullStartedAt": "2026-01-01T00:00:00Z",
        "PullStoppedAt": "2026-01-01T00:00:01Z",
        "AvailabilityZone": f"{REGION}a",
        "LaunchType": "FARGATE",
        "ServiceName": "logger-app",
        "Containers": [_container(name) for name in CONTAINERS],
    }


def _cpu(nanoseconds: int) -> dict[str, Any]:
    return {
        "cpu_usage": {
            "total_usage": nanoseconds // 10,
            "usage_in_kernelmode": nanoseconds // 40,
            "usage_in_usermode": nanoseconds // 20,
            "percpu_usage": [nanoseconds // 20, nanoseconds // 20],
        },
        "online_cpus": 2,
        "system_cpu_usage": nanoseconds * 2,
    }


def _stats(name: str, seconds: float) -> dict[str, Any]:
    """Docker stats as the agent reports them, growing with time so rates stay positive."""
    tick = int(seconds * 1e9)
    return {
        "id": _docker_id(name),
        "name": f"/ecs-logger-app-7-{name}",
        "read": _now(),
        "preread": _now(),
        "memory_stats": {
            "usage": 200 * 2**20,
            "max_usage": 250 * 2**20,
            "limit": 1024 * 2**20,
            "stats": {"cache": 10 * 2**20},
        },
        "cpu_stats": _cpu(tick),
        "precpu_stats": _cpu(tick - 10**9),
        "networks": {"eth1": {"rx_bytes": tick // 1000, "tx_bytes": tick // 2000}},
        "network_rate_stats": {"rx_bytes_per_sec": 1200.0, "tx_bytes_per_sec": 800.0},
        "blkio_stats": {
            "io_service_bytes_recursive": [
                {"major": 259, "minor": 0, "op": "Read", "value": 4096},
                {"major": 259, "minor": 0, "op": "Write", "value": 8192},
            ]
        },
    }


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")  # v4/<container>[/task[/stats]]
        body: Any = None
        if len(parts) >= 2 and parts[0] == "v4" and parts[1] in CONTAINERS:
            rest = parts[2:]
            if rest == []:
                body = _container(parts[1])
            elif rest == ["task"]:
                body = _task()
            elif rest == ["task", "stats"]:
                body = {_docker_id(name): _stats(name, time.time()) for name in CONTAINERS}
        payload = json.dumps(body).encode()
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FakeEcsMetadata:
    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def uri(self, container: str) -> str:
        """What ECS puts in that container's ECS_CONTAINER_METADATA_URI_V4."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v4/{container}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
