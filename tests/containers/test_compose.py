"""`docker compose up`, for real, from the project's docker-compose.yml: every service but
Grafana, each third-party image replaced by its local stand-in under the very name the file
pins (tests/containers/images.py), the app's image built from the Dockerfile. The journey runs
through the containers as docs/local-stack.md tells a user to: a token from the stack's own
issuer, a sign-up through `app`, which `worker` welcomes; the counter in Prometheus, the JSON
log line at Loki (through Fluent Bit, by Docker's fluentd log driver), the trace at the trace
receiver. Then `docker compose down` and `up` again: the named volumes keep what they hold."""

import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from harness.builds import REPO
from tests.containers.engine import Engine
from tests.containers.images import Images
from tests.e2e.processes import poll
from tests.e2e.traces import CLIENT, SERVER, Span, read_spans
from tests.log_router.loki_receiver import PushedEntry

pytestmark = pytest.mark.timeout(1800)

T = TypeVar("T")

# Everything but Grafana: these and what they depend on.
SERVICES = ("app", "worker")
PROMETHEUS = "http://127.0.0.1:9090"
ALERTMANAGER = "http://127.0.0.1:9093"
CONSUMER = 5
# The SDK exports metrics every 60 s; the collector batches for up to 5 s more.
METRICS_TIMEOUT = 150


def doc_block(heading: str) -> str:
    """The shell block under a heading of docs/local-stack.md, as a user would paste it."""
    text = (REPO / "docs" / "local-stack.md").read_text()
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


@dataclass
class Stack:
    engine: Engine

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.engine.compose(*args, cwd=REPO, check=check, timeout=600)

    def up(self) -> None:
        # --no-build: the image is built by the app_image fixture (`docker build`, as compose
        # would, but on the host's network: this engine has no bridge for a build to use).
        self.compose("up", "--detach", "--no-build", "--wait", *SERVICES)

    def read(self, service: str, path: str) -> str:
        return self.compose("exec", "-T", service, "cat", path).stdout

    def loki_entries(self) -> list[PushedEntry]:
        lines = self.read("loki", "/loki/received.jsonl").splitlines()
        return [PushedEntry(**json.loads(line)) for line in lines if line.strip()]

    def spans(self, workdir: Path) -> list[Span]:
        path = workdir / "traces.jsonl"
        path.write_text(self.read("tempo", "/var/tempo/traces.jsonl"))
        return read_spans([path])

    def explain(self) -> str:
        """What a failure needs: each container's state and its last log lines."""
        status = self.compose("ps", "--all", check=False).stdout
        logs = self.compose("logs", "--no-color", "--tail=15", check=False).stdout
        return f"\n{status}\n{logs[-6000:]}"


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def _query(expression: str, at: float | None = None) -> list[dict[str, Any]]:
    parameters = {"query": expression, **({"time": str(at)} if at is not None else {})}
    answer = _get_json(f"{PROMETHEUS}/api/v1/query?{urllib.parse.urlencode(parameters)}")
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def _total(result: list[dict[str, Any]]) -> float:
    return sum(float(sample["value"][1]) for sample in result)


def _eventually(read: Callable[[], T], until: Callable[[T], bool], timeout: float) -> T:
    return poll(read, until=until, timeout=timeout, every=2)


@pytest.fixture(scope="module")
def stack(engine: Engine, images: Images, app_image: str) -> Iterator[Stack]:
    running = Stack(engine)
    running.compose("down", "--volumes", "--remove-orphans")
    started = time.monotonic()
    try:
        running.up()
    except Exception as error:
        raise AssertionError(f"{error}{running.explain()}") from None
    print(f"[containers] stack up in {time.monotonic() - started:.0f}s")
    yield running
    running.compose("down", "--volumes", "--remove-orphans", check=False)


@dataclass(frozen=True)
class SignUp:
    patient_id: str
    trace_id: str
    at: float


def _sign_up_as_the_docs_say(stack: Stack) -> str:
    """docs/local-stack.md's "Call the API" block, run as it is written."""
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", doc_block("Call the API")],
        cwd=REPO,
        env=stack.engine.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, f"{ran.stdout}\n{ran.stderr}{stack.explain()}"
    return ran.stdout


@pytest.fixture(scope="module")
def sign_up(stack: Stack) -> SignUp:
    answer = json.loads(_sign_up_as_the_docs_say(stack))
    patient_id = answer["patient_id"]

    def created_line() -> list[PushedEntry]:
        return [
            entry
            for entry in stack.loki_entries()
            if entry.record.get("event") == "signup.created"
            and entry.record.get("patient_id") == patient_id
        ]

    lines = _eventually(created_line, until=bool, timeout=60)
    assert lines, f"the sign-up's log line never reached Loki{stack.explain()}"
    return SignUp(patient_id, lines[0].record["trace_id"], time.time())


def test_every_published_port_is_bound_to_127_0_0_1(stack: Stack) -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    declared = {
        service: {str(port).rsplit(":", 1)[-1] for port in spec.get("ports", [])}
        for service, spec in compose["services"].items()
        if service != "grafana"
    }
    ids = stack.compose("ps", "--quiet").stdout.split()
    bindings: dict[str, set[tuple[str, str]]] = {}
    for container in json.loads(stack.engine.docker("inspect", *ids).stdout):
        service = container["Config"]["Labels"]["com.docker.compose.service"]
        for port, published in (container["NetworkSettings"]["Ports"] or {}).items():
            for binding in published or []:
                bindings.setdefault(service, set()).add((binding["HostIp"], port))
    assert {s: {port.split("/")[0] for _, port in b} for s, b in bindings.items()} == {
        s: ports for s, ports in declared.items() if ports
    }
    assert {ip for published in bindings.values() for ip, _ in published} == {"127.0.0.1"}


def test_the_worker_container_welcomes_the_patient(stack: Stack, sign_up: SignUp) -> None:
    # Read from the emulator's own container, where boto3 is (moto needs it).
    script = (
        "import boto3, sys; item = boto3.client('dynamodb', endpoint_url='http://127.0.0.1:5000',"
        " region_name='us-east-1', aws_access_key_id='local', aws_secret_access_key='local')"
        ".get_item(TableName='logger-app-patients',"
        f" Key={{'pk': {{'S': 'patient#{sign_up.patient_id}'}}}}).get('Item', {{}});"
        " print(item.get('welcomed_at', {}).get('S', ''))"
    )

    def welcomed_at() -> str:
        return stack.compose("exec", "-T", "moto", "python", "-c", script).stdout.strip()

    assert _eventually(welcomed_at, until=bool, timeout=60), stack.explain()

    def processed() -> list[PushedEntry]:
        return [
            entry
            for entry in stack.loki_entries()
            if entry.record.get("event") == "worker.processed"
            and entry.record.get("trace_id") == sign_up.trace_id
        ]

    (line,) = _eventually(processed, until=bool, timeout=60)
    assert line.structured_metadata["container_name"] == "/logger-app-worker-1"


def test_the_counters_arrive_in_the_prometheus_container(stack: Stack, sign_up: SignUp) -> None:
    created = 'logger_app_signups_total{outcome="created",service_name="logger-app"}'
    welcomed = (
        'logger_app_worker_events_total{event="patient.signed_up",outcome="processed",'
        'service_name="logger-app-worker"}'
    )
    for expression in (created, welcomed):
        result = _eventually(partial(_query, expression), until=bool, timeout=METRICS_TIMEOUT)
        assert _total(result) >= 1, f"{expression}: {result}{stack.explain()}"


def test_the_json_log_line_reaches_loki_through_fluent_bit(stack: Stack, sign_up: SignUp) -> None:
    (line,) = [
        entry
        for entry in stack.loki_entries()
        if entry.record.get("event") == "signup.created"
        and entry.record.get("patient_id") == sign_up.patient_id
    ]
    assert line.labels == {"service": "logger-app", "environment": "local", "level": "INFO"}
    assert line.structured_metadata["container_name"] == "/logger-app-app-1"
    assert line.structured_metadata["ecs_task_arn"].startswith("arn:aws:ecs:")
    assert len(sign_up.trace_id) == 32
    # Personal data never reaches a log line.
    assert "ada@example.com" not in line.line
    assert "Ada Lovelace" not in line.line
    # Fluent Bit's unused CloudWatch output found its (placeholder) credentials in the
    # environment and never went looking on EC2's metadata address.
    router_log = stack.compose("logs", "--no-color", "fluent-bit").stdout
    assert "169.254.169.254" not in router_log, router_log
    assert "[imds]" not in router_log, router_log


def test_the_trace_reaches_the_trace_receiver(
    stack: Stack, sign_up: SignUp, tmp_path: Path
) -> None:
    def trace() -> list[Span]:
        return [s for s in stack.spans(tmp_path) if s.trace_id == sign_up.trace_id]

    def complete(spans: list[Span]) -> bool:
        return {s.kind for s in spans} >= {SERVER, CLIENT, CONSUMER}

    spans = _eventually(trace, until=complete, timeout=60)
    assert complete(spans), f"{[(s.name, s.kind) for s in spans]}{stack.explain()}"
    (server,) = [s for s in spans if s.kind == SERVER]
    assert server.name == "POST /v1/signups"
    assert server.resource["service.name"] == "logger-app"
    assert {s.aws_service for s in spans if s.kind == CLIENT} >= {"DynamoDB", "SQS"}
    assert {s.resource["service.name"] for s in spans if s.kind == CONSUMER} == {
        "logger-app-worker"
    }


def test_logger_app_verify_finds_its_journey_in_every_sink(stack: Stack) -> None:
    """docs/local-stack.md's "Check every sink" block, run as it is written."""
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", doc_block("Check every sink")],
        cwd=REPO,
        env=stack.engine.env,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    report = f"{ran.stdout}\n{ran.stderr}"
    assert ran.returncode == 0, f"{report}{stack.explain()}"
    arrived = {line.split()[0] for line in ran.stdout.splitlines() if " arrived in " in line}
    assert arrived == {"prometheus", "tempo", "loki", "worker"}, report


def test_down_then_up_keeps_what_the_named_volumes_hold(stack: Stack, sign_up: SignUp) -> None:
    created = 'logger_app_signups_total{outcome="created",service_name="logger-app"}'
    before = _eventually(partial(_query, created), until=bool, timeout=METRICS_TIMEOUT)
    assert _total(before) >= 1, stack.explain()
    sampled_at = float(before[0]["value"][0])
    silence = json.dumps(
        {
            "matchers": [{"name": "alertname", "value": "ContainerTest", "isRegex": False}],
            "startsAt": "2020-01-01T00:00:00Z",
            "endsAt": "2100-01-01T00:00:00Z",
            "createdBy": "tests/containers",
            "comment": "kept across down and up",
        }
    ).encode()
    request = urllib.request.Request(
        f"{ALERTMANAGER}/api/v2/silences",
        data=silence,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        silence_id = json.load(response)["silenceID"]
    # Fluent Bit's buffer is empty once everything is delivered: a file of our own stands in.
    marker = "/fluent-bit/buffer/kept-by-tests-containers"
    stack.compose("exec", "-T", "fluent-bit", "sh", "-c", f"echo {sign_up.patient_id} > {marker}")
    volumes = _volumes(stack)
    assert volumes == {
        f"logger-app_{name}"
        for name in ("alertmanager-data", "fluent-bit-buffer", "loki-data", "prometheus-data")
    }

    stack.compose("down")
    assert not stack.compose("ps", "--all", "--quiet").stdout.strip()
    stack.up()

    assert _volumes(stack) == volumes
    assert _total(_query(created, at=sampled_at)) >= 1, "Prometheus lost its samples"
    assert _get_json(f"{ALERTMANAGER}/api/v2/silence/{silence_id}")["status"]["state"] == "active"
    kept = [e for e in stack.loki_entries() if e.record.get("patient_id") == sign_up.patient_id]
    assert kept, "the Loki stand-in's store (loki-data) lost the lines received before"
    assert stack.read("fluent-bit", marker).strip() == sign_up.patient_id
    # The emulator keeps nothing (no volume): bootstrap made the tables again, and the docs'
    # flow works again with a token from the new container's issuer.
    assert json.loads(_sign_up_as_the_docs_say(stack))["patient_id"] != sign_up.patient_id


def _volumes(stack: Stack) -> set[str]:
    """The project's volumes (their CreatedAt is no identity: this engine reports the time
    their top folder last changed)."""
    return set(
        stack.engine.docker(
            "volume",
            "ls",
            "--quiet",
            "--filter",
            "label=com.docker.compose.project=logger-app",
        ).stdout.split()
    )
