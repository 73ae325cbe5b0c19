"""Fixtures of the log-path tests: the real Fluent Bit, a Loki push receiver, the real app's
stdout, and CloudWatch Logs in the AWS emulator (over TLS, as the router always speaks it)."""

import os
import signal
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from harness.emulator import AWS_TEST_ENV, moto_server
from harness.issuer import auth_headers
from harness.processes import BIN, free_port, stop_process
from tests.log_router.loki_receiver import LokiReceiver
from tests.log_router.router import (
    CloudWatchTarget,
    LogRouter,
    app_json_lines,
    build_fluent_bit,
    router_environment,
)
from tests.support import app_process

CLOUDWATCH_LOG_GROUP = "logger-app-test-durable"


@pytest.fixture(scope="session")
def fluent_bit() -> Path:
    return build_fluent_bit()


@pytest.fixture
def loki() -> Iterator[LokiReceiver]:
    receiver = LokiReceiver(free_port())
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def make_router(
    fluent_bit: Path, loki: LokiReceiver, tmp_path: Path
) -> Iterator[Callable[..., LogRouter]]:
    """Builds a router sending to `loki` (and, when given, to CloudWatch); stops it at the end."""
    routers: list[LogRouter] = []

    def make(cloudwatch: CloudWatchTarget | None = None) -> LogRouter:
        router = LogRouter(
            fluent_bit,
            tmp_path,
            router_environment(loki.port, cloudwatch=cloudwatch),
            cloudwatch,
        )
        routers.append(router)
        return router

    yield make
    for router in routers:
        router.stop()


@pytest.fixture
def router(make_router: Callable[..., LogRouter]) -> LogRouter:
    started = make_router()
    started.start()
    return started


@pytest.fixture(scope="session")
def app_lines() -> list[str]:
    """stdout of the real app process (`logger-app serve`, as the image runs it) against the AWS
    emulator, across start-up, a sign-up, records, a read, a 404, a 422 and SIGTERM."""
    with moto_server() as endpoint:
        env = {**AWS_TEST_ENV, "AWS_ENDPOINT_URL": endpoint}
        subprocess.run(
            [str(BIN / "logger-app"), "bootstrap"], env={**os.environ, **env}, check=True
        )
        telemetry_off = {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"}
        with app_process({**env, **telemetry_off}) as (process, url):
            with httpx.Client(base_url=url, timeout=10, headers=auth_headers()) as client:
                signup = client.post(
                    "/v1/signups", json={"email": "ada@example.com", "full_name": "Ada Lovelace"}
                )
                assert signup.status_code == 201, signup.text
                record = {
                    "patient_id": signup.json()["patient_id"],
                    "doctor_id": "dr-house",
                    "kind": "call_started",
                }
                created = client.post("/v1/records", json=record)
                assert created.status_code == 201, created.text
                assert client.get(f"/v1/records/{created.json()['id']}").status_code == 200
                assert client.get(f"/v1/records/{signup.json()['patient_id']}").status_code == 404
                assert client.post("/v1/records", json={"kind": "visit"}).status_code == 422
            process.send_signal(signal.SIGTERM)
            stdout, _ = process.communicate(timeout=30)
    lines = app_json_lines(stdout.decode())
    assert len(lines) >= 8, stdout.decode()[-2000:]
    return lines


@pytest.fixture(scope="session")
def cloudwatch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudWatchTarget]:
    """moto's server over TLS, with a certificate for localhost made here, and the log group
    infra/ creates on AWS."""
    directory = tmp_path_factory.mktemp("cloudwatch")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = subprocess.Popen(
        [
            str(BIN / "moto_server"),
            "-H",
            "127.0.0.1",
            "-p",
            str(port),
            "-c",
            str(cert),
            "-k",
            str(key),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        target = CloudWatchTarget("localhost", port, cert, CLOUDWATCH_LOG_GROUP)
        _wait_for_tls(target)
        logs_client(target).create_log_group(logGroupName=CLOUDWATCH_LOG_GROUP)
        yield target
    finally:
        stop_process(server)


def logs_client(target: CloudWatchTarget) -> Any:
    return boto3.client(
        "logs",
        endpoint_url=f"https://{target.host}:{target.port}",
        verify=str(target.ca_file),
        region_name=AWS_TEST_ENV["AWS_REGION"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _wait_for_tls(target: CloudWatchTarget) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(
                f"https://{target.host}:{target.port}/moto-api/",
                verify=ssl.create_default_context(cafile=target.ca_file),
            )
            return
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "moto did not answer over TLS"
            time.sleep(0.1)
