"""Both provisioning sets define the data sources the dashboards name, load the dashboards
folder where each Grafana finds it, and (on AWS) read only what the Grafana task provides."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.datasources import LOKI_UID, PROMETHEUS_UID

REPO = Path(__file__).resolve().parents[2]
PROVISIONING = REPO / "grafana" / "provisioning"
# Where each Grafana finds the dashboards: docker-compose.yml's mount, and the Grafana image's COPY.
DASHBOARD_PATHS = {"local": "/var/lib/grafana/dashboards", "aws": "/etc/grafana/dashboards"}


def _load(path: Path) -> dict[str, Any]:
    content: dict[str, Any] = yaml.safe_load(path.read_text())
    return content


def _datasources(flavour: str) -> dict[str, dict[str, Any]]:
    config = _load(PROVISIONING / flavour / "datasources" / "datasources.yaml")
    return {d["uid"]: d for d in config["datasources"]}


@pytest.mark.parametrize("flavour", ["local", "aws"])
def test_the_dashboards_data_source_uids_exist(flavour: str) -> None:
    datasources = _datasources(flavour)
    assert {PROMETHEUS_UID, LOKI_UID} <= set(datasources)
    for source in datasources.values():
        for field in source.get("jsonData", {}).get("derivedFields", []):
            assert field["datasourceUid"] in datasources, field
        for link in source.get("jsonData", {}).get("exemplarTraceIdDestinations", []):
            assert link["datasourceUid"] in datasources, link


@pytest.mark.parametrize("flavour", ["local", "aws"])
def test_a_file_provider_loads_the_dashboards_folder(flavour: str) -> None:
    [provider] = _load(PROVISIONING / flavour / "dashboards" / "dashboards.yaml")["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == DASHBOARD_PATHS[flavour]
    assert provider["allowUiUpdates"] is False


def test_compose_and_the_grafana_image_put_the_dashboards_where_the_providers_look() -> None:
    compose = (REPO / "docker-compose.yml").read_text()
    assert f"./grafana/dashboards:{DASHBOARD_PATHS['local']}:ro" in compose
    dockerfile = (REPO / "infra" / "images" / "grafana" / "Dockerfile").read_text()
    assert f"COPY grafana/dashboards/ {DASHBOARD_PATHS['aws']}/" in dockerfile
    assert "COPY grafana/provisioning/aws/ /etc/grafana/provisioning/" in dockerfile


def test_aws_data_sources_are_amp_with_sigv4_loki_and_xray() -> None:
    datasources = _datasources("aws")
    amp = datasources[PROMETHEUS_UID]
    assert amp["type"] == "grafana-amazonprometheus-datasource"
    assert amp["jsonData"]["sigV4Auth"] is True
    assert amp["jsonData"]["sigV4AuthType"] == "default"  # the task role, no keys
    assert datasources[LOKI_UID]["type"] == "loki"
    assert datasources["xray"]["type"] == "grafana-x-ray-datasource"
    assert datasources["xray"]["jsonData"]["authType"] == "default"
    assert not [d for d in datasources.values() if "secureJsonData" in d]


def test_aws_provisioning_reads_only_variables_the_grafana_task_sets() -> None:
    text = (PROVISIONING / "aws" / "datasources" / "datasources.yaml").read_text()
    uncommented = "\n".join(line.split("#")[0] for line in text.splitlines())
    wanted = set(re.findall(r"(?<!\$)\$\{(\w+)\}", uncommented))
    assert wanted == {"AMP_QUERY_URL", "LOKI_URL", "AWS_REGION"}
    task = (REPO / "infra" / "logger_app_infra" / "grafana.py").read_text()
    assert {name for name in wanted if f'"{name}":' in task} == wanted
    assert (
        "grafana-amazonprometheus-datasource"
        in (REPO / "infra" / "images" / "grafana" / "Dockerfile").read_text()
    )
