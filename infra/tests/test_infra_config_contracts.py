"""The configuration files baked into images or passed at start read only variables the task
definitions set: a renamed variable on either side fails here, not at the first deploy."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from infra_helpers import container, environment, resources
from infra_settings import REPO
from logger_app_infra.app_builder import LoggerAppStacks
from logger_app_infra.data import DLQ_MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT_SECONDS

from logger_app.cli import TELEMETRY_DEFAULTS, WORKER_SERVICE_NAME
from logger_app.settings import Settings

INFRA = Path(__file__).resolve().parents[1]
VARIABLE = re.compile(r"\$\{(?:env:)?([A-Z_][A-Z0-9_]*)\}")


def variables(path: Path) -> set[str]:
    """${VAR} and ${env:VAR} references outside comments."""
    lines = path.read_text(encoding="utf-8").splitlines()
    code = [line for line in lines if not line.lstrip().startswith("#")]
    return set(VARIABLE.findall("\n".join(code)))


def task_container(stacks: LoggerAppStacks, stack_name: str, name: str) -> dict[str, Any]:
    stack = getattr(stacks, stack_name)
    for task in resources(stack, "AWS::ECS::TaskDefinition").values():
        names = [c["Name"] for c in task["Properties"]["ContainerDefinitions"]]
        if name in names:
            return container(task, name)
    raise AssertionError(f"no container {name} in {stack_name}")


@pytest.mark.parametrize(
    ("config_file", "stack_name", "container_name"),
    [
        (REPO / "otel-collector.yaml", "service", "aws-otel-collector"),
        (REPO / "fluent-bit.conf", "service", "log-router"),
        (
            REPO / "grafana/provisioning/aws/datasources/datasources.yaml",
            "observability",
            "grafana",
        ),
        (INFRA / "images/loki/loki.yaml", "observability", "loki"),
    ],
)
def test_config_variables_are_set_on_the_container(
    prod: LoggerAppStacks, config_file: Path, stack_name: str, container_name: str
) -> None:
    needed = variables(config_file)
    assert needed, f"{config_file} reads no variables: the pattern no longer matches it"
    provided = set(environment(task_container(prod, stack_name, container_name)))
    assert needed <= provided, f"{config_file.name} needs {sorted(needed - provided)}"


def test_loki_config_uses_schema_v13_tsdb_on_s3_with_retention() -> None:
    config = yaml.safe_load((INFRA / "images/loki/loki.yaml").read_text(encoding="utf-8"))
    (schema,) = config["schema_config"]["configs"]
    assert (schema["schema"], schema["store"], schema["object_store"]) == ("v13", "tsdb", "s3")
    assert config["compactor"]["retention_enabled"] is True
    assert config["compactor"]["delete_request_store"] == "s3"
    assert config["common"]["ring"]["kvstore"]["store"] == "inmemory"
    assert config["common"]["instance_addr"] == "127.0.0.1"
    assert config["auth_enabled"] is False
    # Working directories on the EFS mount, nothing else on local disk.
    for path in (
        config["storage_config"]["tsdb_shipper"]["active_index_directory"],
        config["compactor"]["working_directory"],
        config["ingester"]["wal"]["dir"],
    ):
        assert path.startswith("/loki/")


def test_grafana_image_paths_match_the_provisioning() -> None:
    dockerfile = (INFRA / "images/grafana/Dockerfile").read_text(encoding="utf-8")
    providers = yaml.safe_load(
        (REPO / "grafana/provisioning/aws/dashboards/dashboards.yaml").read_text(encoding="utf-8")
    )
    (provider,) = providers["providers"]
    assert f"COPY grafana/dashboards/ {provider['options']['path']}/" in dockerfile
    assert "COPY grafana/provisioning/aws/ /etc/grafana/provisioning/" in dockerfile


# Set on ECS only: the task's identity and environment, which the CLI cannot know.
ECS_ONLY_TELEMETRY = {"OTEL_RESOURCE_ATTRIBUTES", "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS"}


@pytest.mark.parametrize("process", ["api", "worker"])
def test_ecs_telemetry_environment_is_the_clis(prod: LoggerAppStacks, process: str) -> None:
    """The task definitions spell out what `logger-app serve` and `worker` would default to;
    a change to either copy fails here."""
    task = prod.service.worker_task if process == "worker" else prod.service.task
    definition = resources(prod.service, "AWS::ECS::TaskDefinition")[
        prod.service.get_logical_id(task.task_definition.node.default_child)
    ]
    env = environment(container(definition, "app"))
    otel = {name: value for name, value in env.items() if name.startswith("OTEL_")}
    expected = dict(TELEMETRY_DEFAULTS)
    if process == "worker":
        expected["OTEL_SERVICE_NAME"] = WORKER_SERVICE_NAME
    assert set(otel) - set(expected) == ECS_ONLY_TELEMETRY
    assert {name: otel[name] for name in otel if name in expected} == {
        name: value for name, value in expected.items() if name in otel
    }


def test_queue_limits_are_the_ones_the_local_queues_get() -> None:
    """bootstrap (local, tests) creates the queues from Settings; infra/ from its constants."""
    defaults = Settings()
    assert defaults.max_receive_count == DLQ_MAX_RECEIVE_COUNT
    assert defaults.worker_visibility_timeout_seconds == VISIBILITY_TIMEOUT_SECONDS
