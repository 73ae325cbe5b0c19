"""The collector config for the local stack, derived from otel-collector.yaml so the two cannot
drift: the same receivers and processors (the ECS ones read a stand-in metadata endpoint), and
local exporters in place of X-Ray and AMP."""

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


def load(path: Path) -> dict[str, Any]:
    """A collector config file (otel-collector.yaml) as data."""
    config: dict[str, Any] = yaml.safe_load(path.read_text())
    return config


@dataclass(frozen=True)
class LocalEndpoints:
    otlp_grpc_port: int
    otlp_http_port: int
    health_port: int
    remote_write_url: str
    trace_file: Path


def derive(ecs_config: dict[str, Any], local: LocalEndpoints) -> dict[str, Any]:
    config = copy.deepcopy(ecs_config)

    protocols = config["receivers"]["otlp"]["protocols"]
    protocols["grpc"]["endpoint"] = f"127.0.0.1:{local.otlp_grpc_port}"
    protocols["http"]["endpoint"] = f"127.0.0.1:{local.otlp_http_port}"
    # Seconds, not the production interval, so the tests poll briefly.
    config["receivers"]["awsecscontainermetrics"]["collection_interval"] = "1s"

    # X-Ray becomes a file; AMP becomes the local Prometheus, without SigV4.
    config["exporters"].pop("awsxray")
    config["exporters"]["file/traces"] = {
        "path": str(local.trace_file),
        "format": "json",
        "flush_interval": "100ms",
    }
    remote_write = config["exporters"]["prometheusremotewrite"]
    remote_write["endpoint"] = local.remote_write_url
    remote_write.pop("auth")

    config["extensions"].pop("sigv4auth")
    config["extensions"]["health_check"]["endpoint"] = f"127.0.0.1:{local.health_port}"

    service = config["service"]
    service["extensions"] = [e for e in service["extensions"] if e != "sigv4auth"]
    for pipeline in service["pipelines"].values():
        pipeline["exporters"] = [
            "file/traces" if e == "awsxray" else e for e in pipeline["exporters"]
        ]
    # The collector's own metrics would listen on a fixed port (8888): parallel runs would clash.
    service.setdefault("telemetry", {})["metrics"] = {"level": "none"}
    return config
