"""Generated requests from the app's own OpenAPI document: no 5xx, every answer as documented."""

import subprocess
from pathlib import Path

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from harness.builds import REPO
from harness.issuer import auth_headers, token
from harness.processes import BIN
from tests.support import app_process

EXAMPLES_PER_OPERATION = 60  # about 400 cases over the API's operations
# Not "positive data acceptance": a schema-valid request may still be refused for business
# reasons the schema cannot express (a duplicate email: 409). Reserved email domains, which
# the API refuses, the schema excludes.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]


def test_api_conforms_to_its_openapi_document(client: TestClient) -> None:
    # The client fixture ran the app's lifespan (its AWS clients exist); schemathesis then
    # calls the same ASGI app directly, against moto.
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6
    headers = auth_headers()  # every scope
    statuses: set[int] = set()

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case: schemathesis.Case) -> None:
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            statuses.add(response.status_code)

        conforms()

    # The token was accepted: the generated requests reached the handlers.
    assert {200, 201} <= statuses, statuses
    assert 401 not in statuses


def test_every_schemathesis_check_passes_against_the_served_app(aws: str, tmp_path: Path) -> None:
    # The CLI's `--checks all` over every phase (examples, coverage, fuzzing, stateful) against
    # `logger-app serve`: its coverage phase sends what the in-process test above does not
    # (bodies that are not UTF-8, other content types), and each answer must be documented.
    with app_process({"OTEL_SDK_DISABLED": "true"}, stdout=subprocess.DEVNULL) as (_, url):
        run = subprocess.run(
            [
                str(BIN / "schemathesis"),
                "--config-file",
                str(REPO / "schemathesis.toml"),  # the one expectation it relaxes is explained
                "run",
                f"{url}/openapi.json",
                "--checks",
                "all",
                "--header",
                f"Authorization: Bearer {token()}",
                "--max-examples",
                str(EXAMPLES_PER_OPERATION),
                "--generation-deterministic",  # and so no example database
                "--suppress-health-check",
                "all",
                "--no-color",
            ],
            cwd=tmp_path,  # its cache of failures, kept out of the checkout
            capture_output=True,
            text=True,
            check=False,
        )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
