"""The floor: the CPU that a request's boto3 calls cost alone, in a tight loop, no web framework.

The calls are not written out here, so they cannot drift from the service: the app itself
(`create_app`, in-process through Starlette's TestClient) serves one request of the workload while
botocore's `provide-client-params` hook records every API call it makes, with its parameters.
Those calls are then replayed with the app's own client configuration (`create_clients`), each
replay of a write with fresh ids (every UUID and SHA-256 in the parameters replaced), and this
process's CPU time over the loop is divided by the iterations.

Run as ``python -m bench.floor WORKLOAD ITERATIONS`` with AWS_ENDPOINT_URL set, against a
bootstrapped emulator; prints one line: ``BENCH_FLOOR {json}``.
"""

import copy
import json
import re
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from botocore import xform_name
from fastapi.testclient import TestClient

from bench.configs import FLOOR_MARKER
from logger_app.aws import create_clients
from logger_app.local_issuer import mint
from logger_app.main import create_app
from logger_app.settings import get_settings

WARMUP = 20
# Writes need fresh keys on every replay (conditional puts); reads replay the same call.
UNIQUE_PER_CALL = frozenset({"signup", "record_create"})
_TOKEN = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b[0-9a-f]{64}\b"
)

Call = tuple[str, str, dict[str, Any]]  # (service, operation, API parameters)


def _request(client: TestClient, workload: str) -> Callable[[], httpx.Response]:
    """A new request of the workload on each call (sign-ups need a new email each time)."""
    patient = str(uuid.uuid4())
    record = {"patient_id": patient, "doctor_id": "dr-bench", "kind": "message"}
    if workload == "signup":
        return lambda: client.post(
            "/v1/signups",
            json={"email": f"floor.{uuid.uuid4()}@bench.example", "full_name": "Floor Patient"},
        )
    if workload == "record_create":
        return lambda: client.post("/v1/records", json=record)
    if workload == "record_read":
        created = client.post("/v1/records", json=record).json()
        return lambda: client.get(f"/v1/records/{created['id']}")
    if workload == "record_not_found":
        return lambda: client.get(f"/v1/records/{uuid.uuid4()}")
    raise ValueError(f"no floor for {workload}")


def record_calls(workload: str) -> list[Call]:
    """The boto3 calls the app makes to serve one request of the workload."""
    calls: list[Call] = []

    def capture(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.service_model.service_id, model.name, copy.deepcopy(params)))

    settings = get_settings()
    if settings.local_issuer_dir is None:
        raise RuntimeError("set LOGGER_APP_LOCAL_ISSUER_DIR (bench.runner does)")
    bearer = mint(settings.local_issuer_dir, ["signups:write", "records:write", "records:read"])
    app = create_app(settings)
    with TestClient(app, headers={"Authorization": f"Bearer {bearer}"}) as client:
        request = _request(client, workload)
        request()  # first requests look up and cache what later ones reuse (the queue URL)
        time.sleep(1.0)  # the outbox's start-up drain is over
        clients = app.state.services.clients
        for boto_client in (clients.dynamodb, clients.sqs):
            boto_client.meta.events.register("provide-client-params", capture)
        response = request()
        for boto_client in (clients.dynamodb, clients.sqs):
            boto_client.meta.events.unregister("provide-client-params", capture)
    if response.status_code >= 500:
        raise RuntimeError(f"the recorded request failed: {response.status_code} {response.text}")
    return calls


def _fresh(calls: list[Call]) -> list[Call]:
    """The same calls with every id and digest replaced, consistently within the request."""
    replacements: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token not in replacements:
            replacements[token] = str(uuid.uuid4()) if "-" in token else secrets.token_hex(32)
        return replacements[token]

    return [(s, op, json.loads(_TOKEN.sub(replace, json.dumps(params)))) for s, op, params in calls]


def measure(workload: str, iterations: int) -> dict[str, Any]:
    recorded = record_calls(workload)
    clients = create_clients(get_settings())
    methods = {
        "DynamoDB": clients.dynamodb,
        "SQS": clients.sqs,
    }
    plan = [
        [(getattr(methods[s], xform_name(op)), params) for s, op, params in calls]
        for calls in (
            _fresh(recorded) if workload in UNIQUE_PER_CALL else recorded
            for _ in range(WARMUP + iterations)
        )
    ]
    for calls in plan[:WARMUP]:
        for method, params in calls:
            method(**params)
    cpu, wall = time.process_time(), time.perf_counter()
    for calls in plan[WARMUP:]:
        for method, params in calls:
            method(**params)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "calls": [f"{s}.{op}" for s, op, _ in recorded],
        "iterations": iterations,
        "cpu_ms_per_op": cpu * 1000 / iterations,
        "wall_ms_per_op": wall * 1000 / iterations,
    }


def main() -> None:
    workload, iterations = sys.argv[1], int(sys.argv[2])
    result = {"workload": workload, **measure(workload, iterations)}
    print(FLOOR_MARKER + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
