"""The collector built from collector/builder-config.yaml, and the config it validates."""

from pathlib import Path

import pytest

from harness.builds import build_collector

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def otelcol() -> Path:
    return build_collector()


@pytest.fixture(scope="session")
def ecs_config_path() -> Path:
    return REPO / "otel-collector.yaml"
