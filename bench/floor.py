"""The floor: the CPU that a request's boto3 calls cost alone, in a tight loop, no web framework.

The calls are not written out here, so they cannot drift from the service: the app itself
(`create_app`, in-process through Starlette's TestClient) serves one request of the workload while
botocore's `provide-client-params` hook records every API call it makes, with its parameters.
Those calls are then replayed with the app's own client configuration (`create_clients`), each
replay of a write with fresh ids (every UUID and SHA-256 in the parameters replaced), and this
process's CPU time over the loop is divided by the iterations.

Only the request path is replayed: the calls made in the request's own context (a context
variable set around each HTTP request, which anyio copies into the worker threads) before its
response came back, less the background publisher's batch operations. What the app does in the
background (the outbox drain, a publisher that sends events after the answer) is recorded
beside it (`background_calls`) but never in the floor, so the floor is the same whichever way
the app publishes and however the background's timing falls. For a write, the floor of its
TransactWriteItems alone is measured too (the request path once publishing leaves it).

Run as ``python -m bench.floor WORKLOAD ITERATIONS`` with AWS_ENDPOINT_URL set, against a
bootstrapped emulator; prints one line: ``BENCH_FLOOR {json}``.
"""

import contextvars
import copy
import itertools
import json
import re
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from botocore import xform_name
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.configs import FLOOR_MARKER
from logger_app.aws import create_clients
from logger_app.local_issuer import mint
from logger_app.main import create_app
from logger_app.settings import get_api_settings, get_settings

WARMUP = 20
# Writes need fresh keys on every replay (conditional puts); reads replay the same call.
UNIQUE_PER_CALL = frozenset({"signup", "record_create"})
_TOKEN = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b[0-9a-f]{64}\b"
)

Call = tuple[str, str, dict[str, Any]]  # (service, operation, API parameters)

TRANSACT = ("DynamoDB", "TransactWriteItems")
KEYS = ("pk", "sk")  # the outbox table's key
# Only a background publisher sends these (batches of events, then their outbox entries): never
# the request path, even when a batch happens to go out before the answer does.
BACKGROUND_OPERATIONS = frozenset({("SQS", "SendMessageBatch"), ("DynamoDB", "BatchWriteItem")})
# After the answer, how long background calls (a publisher's linger and batch) are recorded.
BACKGROUND_SECONDS = 0.5

# Which HTTP request the running code serves (None: the lifespan's background tasks).
_REQUEST: contextvars.ContextVar[int | None] = contextvars.ContextVar("floor_request", default=None)
_REQUEST_NUMBERS = itertools.count(1)
_SERVED: list[int] = []  # the requests' numbers, in the order they came in


def numbered(app: ASGIApp) -> ASGIApp:
    """The app, with each HTTP request's number in `_REQUEST` for everything it runs."""

    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        number = next(_REQUEST_NUMBERS)
        _SERVED.append(number)
        token = _REQUEST.set(number)
        try:
            await app(scope, receive, send)
        finally:
            _REQUEST.reset(token)

    return wrapper


@dataclass
class Recorder:
    """Every boto3 call, with the request it was made for and whether the answer was back."""

    calls: list[tuple[int | None, bool, Call]] = field(default_factory=list)
    answered: bool = False

    def capture(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        call = (model.service_model.service_id, model.name, copy.deepcopy(params))
        self.calls.append((_REQUEST.get(), self.answered, call))

    def split(self, request: int, outbox_table: str) -> tuple[list[Call], list[Call]]:
        """(the request path of `request`, the background calls but the outbox drain's)."""
        path, background = [], []
        for number, answered, call in self.calls:
            service, operation, params = call
            if (
                number == request
                and not answered
                and (service, operation) not in (BACKGROUND_OPERATIONS)
            ):
                path.append(call)
            elif (service, operation) != ("DynamoDB", "Query") or (
                params.get("TableName") != outbox_table
            ):
                background.append(call)
        return path, background


def _sign_up(client: TestClient) -> httpx.Response:
    response: httpx.Response = client.post(
        "/v1/signups",
        json={"email": f"floor.{uuid.uuid4()}@bench.example", "full_name": "Floor Patient"},
    )
    return response


def _request(client: TestClient, workload: str) -> Callable[[], httpx.Response]:
    """A new request of the workload on each call (sign-ups need a new email each time)."""
    if workload == "signup":
        return lambda: _sign_up(client)
    # Records are for a patient who signed up (the write checks it).
    patient = _sign_up(client).json()["patient_id"]
    record = {"patient_id": patient, "doctor_id": "dr-bench", "kind": "message"}
    if workload == "record_create":
        return lambda: client.post("/v1/records", json=record)
    if workload == "record_read":
        created = client.post("/v1/records", json=record).json()
        return lambda: client.get(f"/v1/records/{created['id']}")
    if workload == "record_not_found":
        return lambda: client.get(f"/v1/records/{uuid.uuid4()}")
    raise ValueError(f"no floor for {workload}")


@dataclass(frozen=True)
class Recorded:
    request_path: list[Call]
    background: list[Call]
    kept: frozenset[str] = frozenset()  # ids a replay keeps (the patient a record names)


def record_calls(workload: str) -> Recorded:
    """The boto3 calls the app makes to serve one request of the workload (the request path),
    and those it made in the background meanwhile."""
    settings = get_api_settings()
    if settings.local_issuer_dir is None:
        raise RuntimeError("set LOGGER_APP_LOCAL_ISSUER_DIR (bench.runner does)")
    bearer = mint(settings.local_issuer_dir, ["signups:write", "records:write", "records:read"])
    app = create_app(settings)
    recorder = Recorder()
    with TestClient(numbered(app), headers={"Authorization": f"Bearer {bearer}"}) as client:
        request = _request(client, workload)
        request()  # first requests look up and cache what later ones reuse (the queue URL)
        time.sleep(1.0)  # the outbox's start-up drain is over, the first request's events sent
        clients = app.state.services.clients
        for boto_client in (clients.dynamodb, clients.sqs):
            boto_client.meta.events.register("provide-client-params", recorder.capture)
        response = request()
        recorder.answered = True
        number = _SERVED[-1]
        time.sleep(BACKGROUND_SECONDS)
        for boto_client in (clients.dynamodb, clients.sqs):
            boto_client.meta.events.unregister("provide-client-params", recorder.capture)
    if response.status_code >= 500:
        raise RuntimeError(f"the recorded request failed: {response.status_code} {response.text}")
    path, background = recorder.split(number, settings.outbox_table)
    _check(workload, path)
    # A record names a patient who signed up before it: its replays keep that id.
    kept = frozenset({response.json()["patient_id"]} if workload == "record_create" else ())
    return Recorded(path, background, kept)


def _check(workload: str, path: list[Call]) -> None:
    """A write's request path has its one transaction; every request path has a call."""
    transactions = [c for c in path if (c[0], c[1]) == TRANSACT]
    if workload in UNIQUE_PER_CALL and len(transactions) != 1:
        raise RuntimeError(f"{workload}: expected one TransactWriteItems, recorded {_names(path)}")
    if not path:
        raise RuntimeError(f"{workload}: no boto3 call recorded in the request")


def _names(calls: list[Call]) -> list[str]:
    return [f"{s}.{op}" for s, op, _ in calls]


def _fresh(calls: list[Call], kept: frozenset[str] = frozenset()) -> list[Call]:
    """The same calls with every id and digest replaced, consistently within the request, but
    those `kept` (the patient a record names must exist)."""
    replacements: dict[str, str] = {token: token for token in kept}

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token not in replacements:
            replacements[token] = str(uuid.uuid4()) if "-" in token else secrets.token_hex(32)
        return replacements[token]

    return [(s, op, json.loads(_TOKEN.sub(replace, json.dumps(params)))) for s, op, params in calls]


def _outbox_cleanup(calls: list[Call], outbox_table: str) -> list[Call]:
    """Deletes of the outbox entries that `calls` put and leave behind (a write replayed without
    its publication): the app's publisher removes them within milliseconds, and moto's
    TransactWriteItems costs more as the tables it touches grow."""
    if any(s == "DynamoDB" and p.get("TableName") == outbox_table for s, _, p in calls):
        return []  # the calls delete their own entries (synchronous publishing)
    return [
        ("DynamoDB", "DeleteItem", {"TableName": outbox_table, "Key": {k: item[k] for k in KEYS}})
        for service, operation, params in calls
        if (service, operation) == TRANSACT
        for put in (t.get("Put") for t in params["TransactItems"])
        if put is not None and put["TableName"] == outbox_table
        for item in (put["Item"],)
    ]


def replay(
    calls: list[Call], fresh: bool, iterations: int, kept: frozenset[str] = frozenset()
) -> tuple[float, float]:
    """CPU and wall milliseconds per replay of `calls`, with the app's client configuration;
    the outbox entries a replay leaves are deleted after it, untimed."""
    settings = get_settings()
    clients = create_clients(settings)
    methods = {
        "DynamoDB": clients.dynamodb,
        "SQS": clients.sqs,
    }

    def bound(each: list[Call]) -> list[tuple[Callable[..., Any], dict[str, Any]]]:
        return [(getattr(methods[s], xform_name(op)), params) for s, op, params in each]

    plan = [
        (bound(each), bound(_outbox_cleanup(each, settings.outbox_table)))
        for each in (_fresh(calls, kept) if fresh else calls for _ in range(WARMUP + iterations))
    ]
    cpu = wall = 0.0
    for number, (each, cleanup) in enumerate(plan):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        for method, params in each:
            method(**params)
        if number >= WARMUP:
            cpu += time.process_time() - started_cpu
            wall += time.perf_counter() - started_wall
        for method, params in cleanup:
            method(**params)
    return cpu * 1000 / iterations, wall * 1000 / iterations


def measure(workload: str, iterations: int) -> dict[str, Any]:
    recorded = record_calls(workload)
    fresh = workload in UNIQUE_PER_CALL
    path = recorded.request_path
    cpu, wall = replay(path, fresh, iterations, recorded.kept)
    result: dict[str, Any] = {
        "calls": _names(path),
        "background_calls": _names(recorded.background),
        "iterations": iterations,
        "cpu_ms_per_op": cpu,
        "wall_ms_per_op": wall,
        "transact_cpu_ms_per_op": None,
        "transact_wall_ms_per_op": None,
    }
    transactions = [c for c in path if (c[0], c[1]) == TRANSACT]
    if transactions:
        # The transaction alone: the request path of a write that publishes in the background.
        alone = (
            (cpu, wall)
            if path == transactions
            else replay(transactions, fresh, iterations, recorded.kept)
        )
        result["transact_cpu_ms_per_op"], result["transact_wall_ms_per_op"] = alone
    return result


def main() -> None:
    workload, iterations = sys.argv[1], int(sys.argv[2])
    result = {"workload": workload, **measure(workload, iterations)}
    print(FLOOR_MARKER + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
