"""otel-collector.yaml keeps to what the ADOT image runs and to the telemetry contract."""

import re
from pathlib import Path

import pytest

from harness.collector_config import load
from tests.collector.ecs_config import ADOT_COMPONENTS, KINDS, component_type, pipelines

CONFIG = load(Path(__file__).resolve().parents[2] / "otel-collector.yaml")


@pytest.mark.parametrize("kind", KINDS)
def test_only_components_the_adot_image_ships(kind: str) -> None:
    used = {component_type(cid) for cid in CONFIG.get(kind) or {}}
    assert used <= ADOT_COMPONENTS[kind], f"not in ADOT: {sorted(used - ADOT_COMPONENTS[kind])}"


def test_memory_limiter_first_and_batch_last_in_every_pipeline() -> None:
    for name, pipeline in pipelines(CONFIG).items():
        processors = pipeline["processors"]
        assert component_type(processors[0]) == "memory_limiter", name
        assert component_type(processors[-1]) == "batch", name


def test_no_logs_pipeline_logs_go_through_firelens() -> None:
    assert not [name for name in pipelines(CONFIG) if component_type(name) == "logs"]


def test_traces_go_to_xray_and_metrics_to_amp() -> None:
    signals: dict[str, list[str]] = {component_type(name): [] for name in pipelines(CONFIG)}
    for name, pipeline in pipelines(CONFIG).items():
        signals[component_type(name)].extend(pipeline["exporters"])
    assert set(signals["traces"]) == {"awsxray"}
    assert set(signals["metrics"]) == {"prometheusremotewrite"}


def test_remote_write_is_signed_with_sigv4_for_amp() -> None:
    exporter = CONFIG["exporters"]["prometheusremotewrite"]
    assert exporter["endpoint"] == "${env:AMP_REMOTE_WRITE_ENDPOINT}"
    assert exporter["auth"]["authenticator"] == "sigv4auth"
    assert CONFIG["extensions"]["sigv4auth"]["service"] == "aps"
    assert "sigv4auth" in CONFIG["service"]["extensions"]


def test_health_check_extension_is_on_for_the_image_healthcheck() -> None:
    assert "health_check" in CONFIG["service"]["extensions"]
    # ADOT's /healthcheck binary asks exactly http://127.0.0.1:13133/.
    health_check = CONFIG["extensions"]["health_check"]
    assert health_check["endpoint"] == "127.0.0.1:13133"
    assert health_check.get("path", "/") == "/"


def test_every_metrics_pipeline_trims_per_task_attributes_before_conversion() -> None:
    assert CONFIG["exporters"]["prometheusremotewrite"]["resource_to_telemetry_conversion"][
        "enabled"
    ]
    for name, pipeline in pipelines(CONFIG).items():
        if "prometheusremotewrite" in pipeline["exporters"]:
            assert "resource/metrics" in pipeline["processors"], name


def _deleted_by(pipeline: str, key: str) -> bool:
    for processor in pipelines(CONFIG)[pipeline]["processors"]:
        if component_type(processor) != "resource":
            continue
        for action in CONFIG["processors"][processor]["attributes"]:
            if action["action"] != "delete":
                continue
            if action.get("key") == key or re.search(action.get("pattern", "^$"), key):
                return True
    return False


PER_TASK = [
    "aws.ecs.task.arn",
    "aws.ecs.task.id",
    "aws.ecs.task.revision",
    "aws.ecs.container.arn",
    "container.id",
    "cloud.availability_zone",
    "aws.log.stream.names",
    "host.name",
    "process.pid",
]
PER_SERVICE = ["service.name", "service.instance.id", "deployment.environment", "cloud.region"]


@pytest.mark.parametrize("pipeline", ["metrics/app", "metrics/ecs"])
def test_resource_steps_delete_per_task_identifiers_and_keep_the_service(pipeline: str) -> None:
    assert [key for key in PER_TASK if not _deleted_by(pipeline, key)] == []
    assert [key for key in PER_SERVICE if _deleted_by(pipeline, key)] == []


def test_container_name_is_dropped_for_the_app_and_kept_for_container_metrics() -> None:
    # The app's is its task's hostname; the container metrics' is the task definition's name.
    assert _deleted_by("metrics/app", "container.name")
    assert not _deleted_by("metrics/ecs", "container.name")


def test_ecs_detector_and_container_metrics_are_wired() -> None:
    assert CONFIG["processors"]["resourcedetection"]["detectors"] == ["env", "ecs"]
    ecs = pipelines(CONFIG)["metrics/ecs"]
    assert ecs["receivers"] == ["awsecscontainermetrics"]
    assert "filter/ecs" in ecs["processors"]
