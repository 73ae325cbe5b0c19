"""The real Fluent Bit running the log router's configs, as FireLens runs them on ECS.

The binary is built from source by scripts/build-fluent-bit.sh (cached per machine). It runs
compose/fluent-bit/fluent-bit.conf (the stand-in for the config FireLens generates), which
@INCLUDEs the repository's fluent-bit.conf, whose parsers are fluent-bit-parsers.conf. Each file
is copied into a temporary root at the path the log router image gives it, and every absolute
path in them is moved under that root, so the configs run unchanged but for where they live.
The listening ports FireLens fixes (forward 24224, health check 8877) become free ports.

Records go in as the awsfirelens log driver (Docker's fluentd driver) sends them: the forward
protocol's message mode, [tag, EventTime, record], over the unix socket.
"""

import json
import os
import re
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import msgpack

from harness.builds import REPO, built_binary
from harness.processes import ManagedProcess, free_port

# Where the log router image (infra/images/log-router/Dockerfile) and docker compose put them.
IMAGE_FILES = {
    "/fluent-bit/etc/fluent-bit.conf": REPO / "compose" / "fluent-bit" / "fluent-bit.conf",
    "/extra.conf": REPO / "fluent-bit.conf",
    "/fluent-bit/parsers/logger-app.conf": REPO / "fluent-bit-parsers.conf",
}
MAIN_CONFIG = "/fluent-bit/etc/fluent-bit.conf"
FORWARD_SOCKET = "/var/run/fluent.sock"
FIRELENS_PORTS = {"24224": "forward", "8877": "healthcheck"}
# A path after whitespace: a config value (or a comment, harmlessly).
ABSOLUTE_PATH = re.compile(r"(?<=\s)/(?=[\w.])")
PORT_LINE = re.compile(r"^(\s*Port\s+)(\d+)\s*$", re.MULTILINE | re.IGNORECASE)

TASK_ID = "5f3c0a2b9d8e4f6a8b7c6d5e4f3a2b1c"
# What FireLens fills in from the task's metadata (the stand-in reads it from the environment).
ECS_METADATA = {
    "ECS_CLUSTER": "logger-app",
    "ECS_TASK_ARN": f"arn:aws:ecs:us-east-1:123456789012:task/logger-app/{TASK_ID}",
    "ECS_TASK_DEFINITION": "logger-app:7",
}


def build_fluent_bit() -> Path:
    return built_binary("build-fluent-bit.sh")


@dataclass(frozen=True)
class CloudWatchTarget:
    """The AWS emulator's CloudWatch Logs over TLS (the cloudwatch_logs output always uses TLS,
    and verifies against /etc/ssl/certs unless given a CA file)."""

    host: str
    port: int
    ca_file: Path
    log_group: str


class LogRouter:
    """Fluent Bit with the FireLens stand-in and our config, in its own root under `workdir`."""

    def __init__(
        self,
        binary: Path,
        workdir: Path,
        environment: Mapping[str, str],
        cloudwatch: CloudWatchTarget | None = None,
    ) -> None:
        self.root = workdir / "router-root"
        self.ports = {name: free_port() for name in FIRELENS_PORTS.values()}
        for image_path, source in IMAGE_FILES.items():
            target = self.path(image_path)
            target.parent.mkdir(parents=True, exist_ok=True)
            text = self.relocate(source.read_text())
            if image_path == "/extra.conf" and cloudwatch is not None:
                text = point_cloudwatch_at(text, cloudwatch)
            target.write_text(text)
        for directory in ("/fluent-bit/buffer", "/var/run"):
            self.path(directory).mkdir(parents=True, exist_ok=True)
        self.socket_path = self.path(FORWARD_SOCKET)
        self.process = ManagedProcess(
            "fluent-bit",
            [str(binary), "-c", str(self.path(MAIN_CONFIG))],
            workdir / "fluent-bit.log",
            env=dict(environment),
        )

    def path(self, image_path: str) -> Path:
        return self.root / image_path.lstrip("/")

    def relocate(self, text: str) -> str:
        text = ABSOLUTE_PATH.sub(f"{self.root}/", text)

        def port(match: re.Match[str]) -> str:
            return f"{match.group(1)}{self.ports[FIRELENS_PORTS[match.group(2)]]}"

        return PORT_LINE.sub(port, text)

    def dry_run(self) -> tuple[int, str]:
        result = subprocess.run(
            [*self.process.argv, "--dry-run"],
            env=self.process.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return result.returncode, result.stdout + result.stderr

    def start(self) -> None:
        self.process.start()
        self.process.wait_until(self._accepting, timeout=30)

    def _accepting(self) -> bool:
        if not self.socket_path.exists():
            return False
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(self.socket_path))
            except OSError:
                return False
        return True

    def stop(self) -> None:
        """SIGTERM: Fluent Bit flushes what it can within its grace period."""
        self.process.stop(timeout=30)

    def kill(self) -> None:
        """SIGKILL: nothing is flushed; only what reached the filesystem buffer survives."""
        os.kill(self.process.pid, signal.SIGKILL)
        time.sleep(0.5)
        self.process.stop()

    def send(
        self,
        lines: Iterable[str],
        container: str = "app",
        source: str = "stdout",
        tag: str | None = None,
    ) -> None:
        """Each line as the awsfirelens driver sends a container's output line."""
        tag = tag or f"{container}-firelens-{TASK_ID}"
        with socket.socket(socket.AF_UNIX) as connection:
            connection.connect(str(self.socket_path))
            for line in lines:
                record = {
                    "container_id": f"{TASK_ID}-1234567890",
                    "container_name": container,
                    "source": source,
                    "log": line,
                }
                connection.sendall(msgpack.packb([tag, event_time(time.time()), record]))

    def send_health_check(self) -> None:
        """What a container health check does: a line to FireLens's TCP health-check input."""
        with socket.create_connection(("127.0.0.1", self.ports["healthcheck"])) as connection:
            connection.sendall(b'{"health": "check"}\n')

    def output(self) -> str:
        return self.process.output()


def event_time(seconds: float) -> msgpack.ExtType:
    """The forward protocol's EventTime: extension type 0, seconds and nanoseconds."""
    whole = int(seconds)
    return msgpack.ExtType(0, struct.pack(">II", whole, int((seconds - whole) * 1e9)))


def point_cloudwatch_at(text: str, target: CloudWatchTarget) -> str:
    """The cloudwatch_logs output's endpoint options, set to the emulator (test only)."""
    section = re.compile(r"^(\s*)Name(\s+)cloudwatch_logs\s*$", re.MULTILINE)
    match = section.search(text)
    assert match, "fluent-bit.conf has no cloudwatch_logs output"
    indent = match.group(1)
    options = "".join(
        f"\n{indent}{key} {value}"
        for key, value in (
            ("endpoint", target.host),
            ("port", target.port),
            ("tls.ca_file", target.ca_file),
        )
    )
    return text[: match.end()] + options + text[match.end() :]


def router_environment(
    loki_port: int,
    *,
    service: str = "logger-app",
    environment: str = "prod",
    cloudwatch: CloudWatchTarget | None = None,
) -> dict[str, str]:
    """The log router container's environment as infra/ sets it on ECS, plus the stand-in's."""
    env = {
        "PATH": "/usr/bin:/bin",
        "LOKI_HOST": "127.0.0.1",
        "LOKI_PORT": str(loki_port),
        "SERVICE_NAME": service,
        "ENVIRONMENT": environment,
        "AWS_REGION": "us-east-1",
        "FORWARD_LISTEN": "127.0.0.1",
        **ECS_METADATA,
    }
    if cloudwatch is None:
        env["CLOUDWATCH_MATCH"] = "no-durable-copy"
        env["CLOUDWATCH_LOG_GROUP"] = "unused"
    else:
        env.update(
            CLOUDWATCH_MATCH="buffered.*",
            CLOUDWATCH_LOG_GROUP=cloudwatch.log_group,
            # The emulator accepts any credentials; Fluent Bit's env provider reads these.
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
        )
    return env


def app_json_lines(output: str) -> list[str]:
    """The JSON lines of an app process's stdout."""
    return [line for line in output.splitlines() if line.startswith("{") and _is_json(line)]


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True
