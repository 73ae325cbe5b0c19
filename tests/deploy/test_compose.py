"""The local stack: docker-compose.yml and the configs in compose/, checked without an engine
(tests/containers brings the stack up for real).

Real tools where they run here: check-jsonschema (Compose Specification schema), promtool
(Prometheus config and the alert rules it loads), amtool (Alertmanager's routing), the collector
built by scripts/build-collector.sh (`validate`). The rest
is structural: mounts exist, every address a config points at is a service listening there,
start order, and the Fluent Bit wiring.
"""

import json
import posixpath
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.e2e.rules import RULES_FILES

from .helpers import REPO, require_tool

COMPOSE_FILE = REPO / "docker-compose.yml"
# Ports the images listen on by default, when no mounted config of ours sets them.
IMAGE_DEFAULT_PORTS = {
    "moto": {"5000"},
    "prometheus": {"9090"},
    "grafana": {"3000"},
    "alertmanager": {"9093"},
}
LOOPBACK = {"localhost", "127.0.0.1", "0.0.0.0", "::"}


def _compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _services() -> dict[str, dict]:
    return _compose()["services"]


def _load(relative: str) -> dict:
    return yaml.safe_load((REPO / relative).read_text())


def _check_jsonschema() -> str:
    beside_python = Path(sys.executable).parent / "check-jsonschema"
    if beside_python.exists():
        return str(beside_python)
    return require_tool("check-jsonschema", "pip install check-jsonschema (dev extra)")


def _mounts(service: dict) -> list[tuple[str, str]]:
    """Bind mounts as (host path relative to the repo, container path)."""
    binds = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            binds.append((source, target))
    return binds


def _mounted_file(service: str, container_path: str) -> Path:
    for source, target in _mounts(_services()[service]):
        if target == container_path:
            return (REPO / source).resolve()
    raise AssertionError(f"{service} mounts nothing at {container_path}")


def test_compose_file_validates_against_the_compose_specification():
    result = subprocess.run(
        [_check_jsonschema(), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_schema_check_rejects_an_invalid_condition(tmp_path):
    broken = _compose()
    broken["services"]["app"]["depends_on"]["bootstrap"]["condition"] = "finished"
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    result = subprocess.run(
        [_check_jsonschema(), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0


@pytest.mark.parametrize("name", sorted(_services()))
def test_every_bind_mounted_path_exists(name):
    for source, _ in _mounts(_services()[name]):
        assert (REPO / source).exists(), f"{name}: {source}"


def test_built_services_use_the_repository_dockerfile():
    built = {n: s["build"] for n, s in _services().items() if "build" in s}
    assert built
    for context in built.values():
        assert (REPO / context / "Dockerfile").is_file()


@pytest.mark.parametrize("name", sorted(_services()))
def test_pulled_images_are_pinned_by_version(name):
    service = _services()[name]
    if "build" in service:
        return
    _, _, tag = service["image"].rpartition(":")
    assert re.fullmatch(r"v?\d+\.\d+\.\d+", tag), service["image"]


def test_published_ports_bind_to_loopback_only():
    for name, service in _services().items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name}: {port}"


def _listening_ports() -> dict[str, set[str]]:
    """What each service listens on, read from its own config (or image default)."""
    otel = _load("compose/otel-collector.yaml")
    protocols = otel["receivers"]["otlp"]["protocols"]
    tempo = _load("compose/tempo.yaml")
    tempo_grpc = tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    [forward_port] = re.findall(
        r"^\s*Port\s+(\d+)\s*$",
        (REPO / "compose/fluent-bit/fluent-bit.conf").read_text().split("Name   forward")[-1],
        re.MULTILINE,
    )
    dockerfile = (REPO / "Dockerfile").read_text()
    return {
        "app": set(re.findall(r"^EXPOSE\s+(\d+)", dockerfile, re.MULTILINE)),
        "otel-collector": {p["endpoint"].rpartition(":")[2] for p in protocols.values()},
        "tempo": {str(tempo["server"]["http_listen_port"]), tempo_grpc.rpartition(":")[2]},
        "loki": {str(_load("compose/loki.yaml")["server"]["http_listen_port"])},
        "fluent-bit": {forward_port},
        **IMAGE_DEFAULT_PORTS,
    }


@pytest.mark.parametrize("name", sorted(_services()))
def test_exposed_ports_are_the_ports_the_service_listens_on(name):
    exposed = set(_services()[name].get("expose", []))
    assert exposed == _listening_ports().get(name, set())


def _referenced_endpoints() -> list[tuple[str, str, str]]:
    """(where, host, port) for every address a config of the stack points at."""
    found: list[tuple[str, str, str]] = []

    def add(where: str, address: str) -> None:
        parts = urlsplit(address if "//" in address else f"//{address}")
        if parts.hostname and parts.hostname not in LOOPBACK:
            found.append((where, parts.hostname, str(parts.port)))

    for name, service in _services().items():
        for key, value in service.get("environment", {}).items():
            if re.match(r"^https?://", str(value)):
                add(f"{name}.environment.{key}", value)
    fluent_env = _services()["fluent-bit"]["environment"]
    add("fluent-bit LOKI_HOST:LOKI_PORT", f"{fluent_env['LOKI_HOST']}:{fluent_env['LOKI_PORT']}")
    for exporter, config in _load("compose/otel-collector.yaml")["exporters"].items():
        add(f"otel-collector exporter {exporter}", config["endpoint"])
    datasources = _load("grafana/provisioning/local/datasources/datasources.yaml")["datasources"]
    for datasource in datasources:
        add(f"grafana datasource {datasource['name']}", datasource["url"])
    prometheus = _load("compose/prometheus.yml")
    for job in prometheus["scrape_configs"]:
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                add(f"prometheus job {job['job_name']}", target)
    for alertmanager in prometheus["alerting"]["alertmanagers"]:
        for static in alertmanager["static_configs"]:
            for target in static["targets"]:
                add("prometheus alerting", target)
    return found


def test_configs_point_at_the_stack_services():
    hosts = {host for _, host, _ in _referenced_endpoints()}
    assert {"moto", "otel-collector", "loki", "tempo", "prometheus", "alertmanager"} <= hosts


@pytest.mark.parametrize(
    ("where", "host", "port"), _referenced_endpoints(), ids=lambda v: str(v).replace(" ", "_")
)
def test_every_referenced_address_is_a_service_listening_there(where, host, port):
    assert host in _services(), f"{where}: no service named {host}"
    assert port in _listening_ports()[host], f"{where}: {host} does not listen on {port}"


def test_app_logs_reach_the_published_fluent_bit_port():
    # Docker's daemon opens the fluentd connection from the host, not from the app container.
    options = _services()["app"]["logging"]["options"]
    host, _, port = options["fluentd-address"].rpartition(":")
    assert host in {"localhost", "127.0.0.1"}
    published = {p.split(":")[1]: p.split(":")[2] for p in _services()["fluent-bit"]["ports"]}
    assert published.get(port) in _listening_ports()["fluent-bit"]


def test_app_logging_uses_the_fluentd_driver_like_firelens():
    logging = _services()["app"]["logging"]
    assert logging["driver"] == "fluentd"
    assert logging["options"]["fluentd-async"] == "true"


def test_compose_fluent_bit_runs_the_firelens_config_at_its_ecs_path():
    assert _mounted_file("fluent-bit", "/extra.conf") == REPO / "fluent-bit.conf"
    assert _services()["fluent-bit"]["command"][-1] == "/fluent-bit/etc/fluent-bit.conf"


def test_compose_fluent_bit_sets_every_variable_the_configs_read():
    environment = _services()["fluent-bit"]["environment"]
    for config in ("fluent-bit.conf", "compose/fluent-bit/fluent-bit.conf"):
        read = set(re.findall(r"\$\{(\w+)\}", (REPO / config).read_text()))
        assert read <= set(environment), f"{config}: {read - set(environment)}"


def _healthchecked(name: str) -> bool:
    service = _services()[name]
    if "healthcheck" in service:
        return not service["healthcheck"].get("disable", False)
    return "build" in service and "HEALTHCHECK" in (REPO / "Dockerfile").read_text()


def test_services_waited_on_for_health_have_a_health_check():
    for name, service in _services().items():
        for dependency, spec in service.get("depends_on", {}).items():
            if spec["condition"] == "service_healthy":
                assert _healthchecked(dependency), f"{name} waits for {dependency}'s health"


def test_app_starts_after_bootstrap_completes_and_the_collector_is_healthy():
    depends_on = _services()["app"]["depends_on"]
    assert depends_on["bootstrap"]["condition"] == "service_completed_successfully"
    assert depends_on["otel-collector"]["condition"] == "service_healthy"


def test_bootstrap_runs_the_app_bootstrap_against_a_healthy_emulator():
    bootstrap = _services()["bootstrap"]
    assert bootstrap["command"] == ["logger-app", "bootstrap"]
    assert bootstrap["depends_on"]["moto"]["condition"] == "service_healthy"
    assert bootstrap["environment"]["AWS_ENDPOINT_URL"] == "http://moto:5000"


def test_start_order_has_no_cycle():
    services = _services()
    order: list[str] = []
    remaining = dict(services)
    while remaining:
        ready = [n for n, s in remaining.items() if set(s.get("depends_on", {})) <= set(order)]
        assert ready, f"cycle among {sorted(remaining)}"
        order.extend(ready)
        for name in ready:
            del remaining[name]


def test_prometheus_config_passes_promtool():
    promtool = require_tool("promtool", "apt-get install prometheus (Debian), see Makefile")
    config = _mounted_file("prometheus", "/etc/prometheus/prometheus.yml")
    result = subprocess.run(
        [promtool, "check", "config", str(config)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_accepts_remote_write():
    assert "--web.enable-remote-write-receiver" in _services()["prometheus"]["command"]


def test_prometheus_loads_the_repository_rules_files_in_the_container_and_here():
    """compose/prometheus.yml names the rules files relative to itself: in the container those
    are the files mounted there, here the repository's, which promtool checks. The same files
    as AMP's and the e2e Prometheus's (tests/e2e/rules.py)."""
    config_path = "/etc/prometheus/prometheus.yml"
    assert _mounted_file("prometheus", config_path) == REPO / "compose" / "prometheus.yml"
    rule_files = _load("compose/prometheus.yml")["rule_files"]
    assert [(REPO / "compose" / rules).resolve() for rules in rule_files] == list(RULES_FILES)
    for rules in rule_files:
        in_container = posixpath.normpath(posixpath.join(posixpath.dirname(config_path), rules))
        assert _mounted_file("prometheus", in_container) == (REPO / "compose" / rules).resolve()
    promtool = require_tool("promtool", "apt-get install prometheus (Debian), see Makefile")
    result = subprocess.run(
        [promtool, "check", "config", str(REPO / "compose" / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for path in RULES_FILES:
        assert re.search(rf"{re.escape(path.name)}\n\s+SUCCESS: \d+ rules found", result.stdout)


def _amtool() -> str:
    return require_tool("amtool", "apt-get install prometheus-alertmanager (Debian), see Makefile")


def test_alertmanager_config_passes_amtool():
    config = _mounted_file("alertmanager", "/etc/alertmanager/alertmanager.yml")
    assert config == REPO / "alerts" / "alertmanager.yml"
    assert (
        "--config.file=/etc/alertmanager/alertmanager.yml" in _services()["alertmanager"]["command"]
    )
    result = subprocess.run(
        [_amtool(), "check-config", str(config)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("severity", "receiver"), [("page", "page"), ("ticket", "ticket")])
def test_alertmanager_routes_by_severity(severity, receiver):
    result = subprocess.run(
        [
            _amtool(),
            "config",
            "routes",
            "test",
            f"--config.file={REPO / 'alerts' / 'alertmanager.yml'}",
            "alertname=SignupsFailing",
            f"severity={severity}",
            "deployment_environment=local",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == receiver


@pytest.mark.timeout(1800)
def test_collector_config_passes_otelcol_validate():
    # The collector with ADOT's components, built (first time: minutes) or reused from cache.
    build = subprocess.run(
        [str(REPO / "scripts" / "build-collector.sh")],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    otelcol = build.stdout.strip().splitlines()[-1]
    config = _mounted_file("otel-collector", "/etc/otelcol/config.yaml")
    assert _services()["otel-collector"]["command"] == ["--config=/etc/otelcol/config.yaml"]
    result = subprocess.run(
        [otelcol, "validate", f"--config={config}"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_collector_sends_traces_and_metrics_without_sigv4():
    config = _load("compose/otel-collector.yaml")
    pipelines = config["service"]["pipelines"]
    assert set(pipelines) == {"traces", "metrics"}
    assert "sigv4auth" not in json.dumps(config)
    assert config["exporters"]["prometheusremotewrite"]["endpoint"].endswith("/api/v1/write")


def test_loki_stores_structured_metadata():
    config = _load("compose/loki.yaml")
    latest = config["schema_config"]["configs"][-1]
    assert (latest["schema"], latest["store"]) == ("v13", "tsdb")
    assert config["limits_config"].get("allow_structured_metadata", True) is True


def _datasources() -> list[dict]:
    return _load("grafana/provisioning/local/datasources/datasources.yaml")["datasources"]


def test_grafana_provisions_prometheus_loki_the_trace_backend_and_alertmanager():
    assert {d["type"] for d in _datasources()} == {"prometheus", "loki", "tempo", "alertmanager"}
    [prometheus] = [d for d in _datasources() if d["type"] == "prometheus"]
    [alertmanager] = [d for d in _datasources() if d["type"] == "alertmanager"]
    assert prometheus["jsonData"]["alertmanagerUid"] == alertmanager["uid"]
    assert alertmanager["jsonData"]["implementation"] == "prometheus"


def test_grafana_datasource_links_point_at_provisioned_uids():
    uids = {d["uid"] for d in _datasources()}
    [loki] = [d for d in _datasources() if d["type"] == "loki"]
    [tempo] = [d for d in _datasources() if d["type"] == "tempo"]
    for field in loki["jsonData"]["derivedFields"]:
        assert field["datasourceUid"] in uids
    assert tempo["jsonData"]["tracesToLogsV2"]["datasourceUid"] in uids


def test_loki_derived_field_finds_the_trace_id_in_a_shipped_line():
    [loki] = [d for d in _datasources() if d["type"] == "loki"]
    [field] = [f for f in loki["jsonData"]["derivedFields"] if f["name"] == "trace_id"]
    trace_id = "6766e1a1c3f0b5d2a9e8f7a6b5c4d3e2"
    # fluent-bit.conf's loki output re-serialises the line compactly (no spaces).
    shipped = json.dumps({"message": "x", "trace_id": trace_id}, separators=(",", ":"))
    match = re.search(field["matcherRegex"], shipped)
    assert match is not None
    assert match.group(1) == trace_id


def test_grafana_mounts_the_local_provisioning_and_the_dashboards():
    mounts = dict(_mounts(_services()["grafana"]))
    assert mounts["./grafana/provisioning/local"] == "/etc/grafana/provisioning"
    assert mounts["./grafana/dashboards"] == "/var/lib/grafana/dashboards"
