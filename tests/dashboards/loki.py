"""A real Loki (built from its Go module by scripts/build-loki.sh), fed the app's own log lines
the way fluent-bit.conf ships them, and LogQL against it."""

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.processes import ManagedProcess, http_ok
from tests.support import built_binary, free_port

REPO = Path(__file__).resolve().parents[2]
FLUENT_BIT_CONF = REPO / "fluent-bit.conf"


def build_loki() -> Path:
    """Path of the Loki binary; builds it on the first call on a machine (10+ minutes)."""
    return built_binary("build-loki.sh")


@dataclass(frozen=True)
class LokiOutput:
    """What fluent-bit.conf's [OUTPUT] to Loki says about labels and metadata."""

    static_labels: dict[str, str]  # name -> value, before ${VAR} expansion
    record_labels: list[str]  # record keys whose values become labels ($key)
    structured_metadata: list[str]
    removed_keys: list[str]

    def labels(self, record: dict[str, Any], env: dict[str, str]) -> dict[str, str]:
        labels = {
            name: re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], value)
            for name, value in self.static_labels.items()
        }
        labels.update({key: str(record[key]) for key in self.record_labels if key in record})
        return labels


def _option(section: str, name: str) -> str:
    match = re.search(rf"^\s*{name}\s+(.+)$", section, re.MULTILINE | re.IGNORECASE)
    return match.group(1).strip() if match else ""


def _keys(value: str) -> list[str]:
    return [item.strip().lstrip("$") for item in value.split(",") if item.strip()]


def loki_output(config: Path = FLUENT_BIT_CONF) -> LokiOutput:
    sections = re.split(r"^\[", config.read_text(), flags=re.MULTILINE)
    outputs = [s for s in sections if s.startswith("OUTPUT]") and _option(s, "Name") == "loki"]
    assert len(outputs) == 1, f"expected one loki [OUTPUT] in {config.name}"
    section = outputs[0]
    static, dynamic = {}, []
    for item in (i.strip() for i in _option(section, "Labels").split(",")):
        if item.startswith("$"):
            dynamic.append(item[1:])
        elif "=" in item:
            name, value = item.split("=", 1)
            static[name.strip()] = value.strip()
    return LokiOutput(
        static_labels=static,
        record_labels=dynamic,
        structured_metadata=_keys(_option(section, "Structured_Metadata")),
        removed_keys=_keys(_option(section, "Remove_Keys")),
    )


CONFIG = """\
auth_enabled: false
server:
  http_listen_address: 127.0.0.1
  http_listen_port: {http_port}
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: {grpc_port}
  log_level: warn
common:
  instance_addr: 127.0.0.1
  path_prefix: {data}
  storage:
    filesystem:
      chunks_directory: {data}/chunks
      rules_directory: {data}/rules
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory
schema_config:
  configs:
    - from: "2024-01-01"
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h
limits_config:
  allow_structured_metadata: true
memberlist:
  bind_addr: [127.0.0.1]
  bind_port: {memberlist_port}
ingester:
  lifecycler:
    address: 127.0.0.1
frontend:
  address: 127.0.0.1
analytics:
  reporting_enabled: false
"""


class Loki:
    def __init__(self, binary: Path, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "loki.yaml"
        config.write_text(
            CONFIG.format(
                http_port=self.port,
                grpc_port=free_port(),
                memberlist_port=free_port(),
                data=workdir / "loki-data",
            )
        )
        self.process = ManagedProcess(
            "loki", [str(binary), f"-config.file={config}"], workdir / "loki.log"
        )

    def start(self) -> None:
        self.process.start()
        self.process.wait_until(http_ok(f"{self.url}/ready"), timeout=120)

    def stop(self) -> None:
        self.process.stop()

    def push(self, streams: list[dict[str, Any]]) -> None:
        response = httpx.post(
            f"{self.url}/loki/api/v1/push",
            content=json.dumps({"streams": streams}),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert response.status_code == 204, response.text

    def query_range(self, logql: str, start: float, end: float) -> dict[str, Any]:
        response = httpx.get(
            f"{self.url}/loki/api/v1/query_range",
            params={
                "query": logql,
                "start": str(int(start * 1e9)),
                "end": str(int(end * 1e9)),
                "step": "15s",
                "limit": "1000",
                "direction": "backward",
            },
            timeout=30,
        )
        assert response.status_code == 200, f"{logql}\n{response.text}"
        data: dict[str, Any] = response.json()["data"]
        return data


def wait_for(read: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.5)
