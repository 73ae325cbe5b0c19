"""The collector config for the local stack, derived from otel-collector.yaml so the two cannot
drift: same receivers (less the ECS-only one), same processors, local exporters."""

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Components that need the ECS task metadata endpoint or AWS itself.
ECS_ONLY_RECEIVERS = {"awsecscontainermetrics"}
ECS_ONLY_DETECTORS = {"ecs"}


@dataclass(frozen=True)
class LocalEndpoints:
    otlp_grpc_port: int
    otlp_http_port: int
    health_port: int
    remote_write_url: str
    trace_file: Path


def derive(ecs_config: dict[str, Any], local: LocalEndpoints) -> dict[str, Any]:
    config = copy.deepcopy(ecs_config)

    for receiver in ECS_ONLY_RECEIVERS:
        config["receivers"].pop(receiver, None)
    protocols = config["receivers"]["otlp"]["protocols"]
    protocols["grpc"]["endpoint"] = f"127.0.0.1:{local.otlp_grpc_port}"
    protocols["http"]["endpoint"] = f"127.0.0.1:{local.otlp_http_port}"

    detection = config["processors"]["resourcedetection"]
    detection["detectors"] = [d for d in detection["detectors"] if d not in ECS_ONLY_DETECTORS]

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
    pipelines = service["pipelines"]
    for name in list(pipelines):
        pipeline = pipelines[name]
        pipeline["receivers"] = [r for r in pipeline["receivers"] if r not in ECS_ONLY_RECEIVERS]
        if not pipeline["receivers"]:
            del pipelines[name]
            continue
        pipeline["exporters"] = [
            "file/traces" if e == "awsxray" else e for e in pipeline["exporters"]
        ]
    used = {p for pipeline in pipelines.values() for p in pipeline["processors"]}
    config["processors"] = {k: v for k, v in config["processors"].items() if k in used}
    # The collector's own metrics would listen on a fixed port (8888): parallel runs would clash.
    service.setdefault("telemetry", {})["metrics"] = {"level": "none"}
    return config
