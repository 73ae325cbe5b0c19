"""The bench's baseline (issue #28): the talk's put+send endpoint, served as the product is,
and the writes' CPU judged against it in the same run."""

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from bench.analysis import BASELINE_RATIO_MAX, Verdict, baseline_ratios, verdicts
from bench.configs import BARE, BASELINE_APP, INSTRUMENTED, PRODUCT_APP, WORKLOADS
from bench.services import App
from harness.emulator import AWS_TEST_ENV, moto_server
from harness.processes import free_port
from logger_app.bootstrap import bootstrap
from logger_app.cli import TELEMETRY_DEFAULTS
from logger_app.settings import Settings


def _measurement(config: str, workload: str, concurrency: int, cpu: float) -> dict[str, Any]:
    return {
        "configuration": config,
        "workload": workload,
        "concurrency": concurrency,
        "requests": 100,
        "throughput_rps": 50.0,
        "errors": 0,
        "moto_server_errors": 0,
        "latency_ms": {"p50": 10.0, "p95": 20.0, "p99": 30.0},
        "app_cpu_ms_per_request": cpu,
        "publish_delay": None,
    }


def _results() -> dict[str, Any]:
    def config(name: str, cpus: dict[tuple[str, int], float]) -> dict[str, Any]:
        return {
            "name": name,
            "startup_seconds": [],
            "rss_mb_after_load": 90.0,
            "peak_rss_mb": 95.0,
            "measurements": [_measurement(name, w, c, cpu) for (w, c), cpu in cpus.items()],
        }

    instrumented = {
        ("signup", 1): 3.0,
        ("signup", 8): 4.5,  # 0.90x the baseline's 5.0: the worst, over the limit
        ("record_create", 1): 3.0,
        ("record_create", 8): 3.5,
        ("baseline", 1): 4.0,
        ("baseline", 8): 5.0,
    }
    # The baseline's own overhead (2.0x) must not count against the product's telemetry.
    disabled = {
        ("signup", 1): 3.0,
        ("signup", 8): 4.2,
        ("record_create", 1): 2.9,
        ("record_create", 8): 3.4,
        ("baseline", 1): 2.0,
        ("baseline", 8): 2.5,
    }
    return {
        "plan": {"publish_timeout_seconds": 10.0},
        "floors": {},
        "configurations": [config("instrumented", instrumented), config("sdk_disabled", disabled)],
    }


def _find(*words: str) -> Verdict:
    [verdict] = [v for v in verdicts(_results()) if all(w in v.target for w in words)]
    return verdict


def test_each_write_is_divided_by_the_baseline_of_its_configuration_and_concurrency() -> None:
    ratios = baseline_ratios(_results())
    assert ratios["instrumented", "signup", 8] == pytest.approx(0.9)
    assert ratios["sdk_disabled", "record_create", 1] == pytest.approx(1.45)
    assert not any(workload == "baseline" for _, workload, _ in ratios)


def test_the_worst_concurrency_decides_each_writes_verdict() -> None:
    signup = _find("signup", "put+send")
    assert not signup.met
    assert "worst 0.90x (c=8)" in signup.measured
    assert "c=1 0.75x (3.00 vs 4.00 ms)" in signup.measured
    assert f"vs {BASELINE_RATIO_MAX:.2f}x" in signup.miss
    record = _find("record_create", "put+send")
    assert record.met  # 0.75x and 0.70x
    assert "sdk_disabled median" in record.measured


def test_telemetry_overhead_limit_is_1_10_and_leaves_the_baseline_out() -> None:
    overhead = _find("Telemetry overhead")
    assert "1.1x" in overhead.target
    assert overhead.met  # worst product ratio 1.07x (signup, c=8); the baseline's 2.0x ignored
    assert "baseline" not in overhead.measured


def test_the_baseline_is_served_by_the_products_server_command() -> None:
    assert WORKLOADS["baseline"].baseline
    assert not WORKLOADS["signup"].baseline
    instrumented = INSTRUMENTED.baseline_argv(8123)
    assert Path(instrumented[0]).name == "opentelemetry-instrument"
    assert BASELINE_APP in instrumented
    assert PRODUCT_APP not in instrumented
    bare = BARE.baseline_argv(8123)
    assert bare == instrumented[1:]
    env = INSTRUMENTED.baseline_environment({"PATH": "/bin"})
    assert {k: env[k] for k in TELEMETRY_DEFAULTS} == dict(TELEMETRY_DEFAULTS)


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with moto_server() as endpoint:
        for name, value in AWS_TEST_ENV.items():
            monkeypatch.setenv(name, value)
        bootstrap(Settings(), endpoint_url=endpoint)
        yield endpoint


def test_workflow_puts_one_item_and_sends_one_message(emulator: str, tmp_path: Path) -> None:
    port = free_port()
    env = BARE.baseline_environment({**AWS_TEST_ENV, "AWS_ENDPOINT_URL": emulator, "PATH": "/bin"})
    app = App(BARE.baseline_argv(port), env, tmp_path / "baseline.log", port)
    app.start()
    try:
        with urllib.request.urlopen(f"{app.url}/workflow", timeout=10) as response:
            assert response.status == 200
            answer = json.loads(response.read())
    finally:
        app.stop()
    session = boto3.session.Session(region_name=AWS_TEST_ENV["AWS_REGION"])
    settings = Settings()
    items = session.client("dynamodb", endpoint_url=emulator).scan(
        TableName=settings.patients_table
    )["Items"]
    assert items == [{"pk": {"S": f"baseline#{answer['id']}"}}]
    sqs = session.client("sqs", endpoint_url=emulator)
    url = sqs.get_queue_url(QueueName=settings.queue_name)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in messages] == [{"id": answer["id"]}]
    assert messages[0]["MessageId"] == answer["message_id"]
