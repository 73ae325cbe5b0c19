"""otel-collector.yaml as data (harness.collector_config.load reads it): its components and
pipelines."""

from typing import Any

KINDS = ("receivers", "processors", "exporters", "extensions", "connectors")

# pkg/defaultcomponents/defaults.go of aws-observability/aws-otel-collector: what the ADOT image
# can run. Anything else in otel-collector.yaml would crash the sidecar at start.
ADOT_COMPONENTS: dict[str, frozenset[str]] = {
    "receivers": frozenset(
        {
            "awsecscontainermetrics",
            "awscontainerinsightreceiver",
            "awsxray",
            "statsd",
            "prometheus",
            "kafka",
            "jaeger",
            "zipkin",
            "otlp",
            "filelog",
        }
    ),
    "processors": frozenset(
        {
            "groupbytrace",
            "tail_sampling",
            "attributes",
            "resource",
            "probabilistic_sampler",
            "span",
            "filter",
            "metricstransform",
            "resourcedetection",
            "metricsgeneration",
            "cumulativetodelta",
            "deltatorate",
            "batch",
            "memory_limiter",
            "k8sattributes",
        }
    ),
    "exporters": frozenset(
        {
            "awsemf",
            "prometheusremotewrite",
            "prometheus",
            "file",
            "kafka",
            "debug",
            "otlp",
            "otlphttp",
            "awsxray",
            "loadbalancing",
            "awscloudwatchlogs",
        }
    ),
    "extensions": frozenset(
        {
            "awsproxy",
            "ecs_observer",
            "health_check",
            "pprof",
            "sigv4auth",
            "zpages",
            "file_storage",
        }
    ),
    "connectors": frozenset(),
}


def component_type(component_id: str) -> str:
    """`resource/metrics` -> `resource`: the type is the part before the optional name."""
    return component_id.split("/", 1)[0]


def used_types(config: dict[str, Any]) -> dict[str, set[str]]:
    return {kind: {component_type(cid) for cid in config.get(kind) or {}} for kind in KINDS}


def pipelines(config: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    result: dict[str, dict[str, list[str]]] = config["service"]["pipelines"]
    return result
