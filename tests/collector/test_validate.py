"""The real collector (ocb build of the ADOT component set) accepts otel-collector.yaml,
and would reject a wrong component name or option."""

from pathlib import Path
from typing import Any

import yaml

from harness.collector_config import load
from tests.collector.ecs_config import KINDS, used_types
from tests.collector.otelcol import (
    ECS_CONFIG_ENV,
    MAY_BUILD_COLLECTOR,
    components,
    validate,
)

pytestmark = MAY_BUILD_COLLECTOR

# Exporters the manifest adds for the tests and the local stack (all shipped by ADOT too).
TEST_ONLY_EXPORTERS = {"file", "debug", "otlp", "otlphttp"}


def _write(config: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def test_otelcol_validate_accepts_the_ecs_config(otelcol: Path, ecs_config_path: Path) -> None:
    result = validate(otelcol, ecs_config_path)
    assert result.returncode == 0, result.stderr


def test_validate_rejects_a_component_adot_does_not_ship(
    otelcol: Path, ecs_config_path: Path, tmp_path: Path
) -> None:
    config = load(ecs_config_path)
    config["processors"]["transform"] = {}
    config["service"]["pipelines"]["traces"]["processors"].insert(1, "transform")
    result = validate(otelcol, _write(config, tmp_path / "broken.yaml"))
    assert result.returncode != 0
    assert "transform" in result.stderr


def test_validate_rejects_a_misspelt_option(
    otelcol: Path, ecs_config_path: Path, tmp_path: Path
) -> None:
    config = load(ecs_config_path)
    exporter = config["exporters"]["prometheusremotewrite"]
    exporter["resource_to_telemetry"] = exporter.pop("resource_to_telemetry_conversion")
    result = validate(otelcol, _write(config, tmp_path / "broken.yaml"))
    assert result.returncode != 0
    assert "resource_to_telemetry" in result.stderr


def test_validate_fails_without_the_amp_endpoint(otelcol: Path, ecs_config_path: Path) -> None:
    env = {k: v for k, v in ECS_CONFIG_ENV.items() if k != "AMP_REMOTE_WRITE_ENDPOINT"}
    result = validate(otelcol, ecs_config_path, env=env)
    assert result.returncode != 0
    assert "prometheusremotewrite" in result.stderr


def test_collector_holds_exactly_the_config_components_plus_test_exporters(
    otelcol: Path, ecs_config_path: Path
) -> None:
    expected = used_types(load(ecs_config_path))
    expected["exporters"] |= TEST_ONLY_EXPORTERS
    built = components(otelcol)
    assert {kind: built[kind] for kind in KINDS} == expected
