"""Running the test collector binary (harness.builds.build_collector builds or reuses it):
validate configs, list components."""

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

# Harmless values for the variables otel-collector.yaml references; validation never dials them.
ECS_CONFIG_ENV: Mapping[str, str] = {
    "AWS_REGION": "eu-west-1",
    "AMP_REMOTE_WRITE_ENDPOINT": (
        "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-test/api/v1/remote_write"
    ),
}


# The first test of a session may build the collector: minutes on a fresh machine, beyond the
# suite's per-test timeout (make's collector target normally builds it before pytest starts).
MAY_BUILD_COLLECTOR = pytest.mark.timeout(1200)


# What ECS gives every container (task role credentials, the task metadata endpoint): validate
# builds the components, and sigv4auth and awsecscontainermetrics read these when created.
ECS_TASK_ENV: Mapping[str, str] = {
    "AWS_ACCESS_KEY_ID": "validate",
    "AWS_SECRET_ACCESS_KEY": "validate",
    "ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/validate",
}


def validate(
    otelcol: Path, config: Path, env: Mapping[str, str] = ECS_CONFIG_ENV
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(otelcol), "validate", f"--config={config}"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), **ECS_TASK_ENV, **env},
        timeout=60,
        check=False,
    )


def components(otelcol: Path) -> dict[str, set[str]]:
    """Component types compiled into the binary, by kind (receivers, processors, ...)."""
    result = subprocess.run(
        [str(otelcol), "components"], capture_output=True, text=True, timeout=60, check=True
    )
    listing = yaml.safe_load(result.stdout)
    return {
        kind: {entry["name"] for entry in listing.get(kind) or []}
        for kind in ("receivers", "processors", "exporters", "extensions", "connectors")
    }
