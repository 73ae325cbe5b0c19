import pytest
from fastapi.testclient import TestClient

from harness.processes import free_port


def test_liveness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_ready_when_tables_and_queue_are_reachable(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert set(response.json()["checks"].values()) == {"ok"}


DEPENDENCIES = {
    "records_table": ("records_table", "no-such-table", "ResourceNotFoundException"),
    "patients_table": ("patients_table", "no-such-table", "ResourceNotFoundException"),
    "outbox_table": ("outbox_table", "no-such-table", "ResourceNotFoundException"),
    "queue": ("queue_name", "no-such-queue", "AWS.SimpleQueueService.NonExistentQueue"),
}


@pytest.mark.parametrize("dependency", DEPENDENCIES)
def test_not_ready_names_each_missing_dependency(make_client: object, dependency: str) -> None:
    setting, missing, code = DEPENDENCIES[dependency]
    client = make_client(**{setting: missing})  # type: ignore[operator]

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.headers["retry-after"]
    checks = response.json()["checks"]
    assert checks == {name: code if name == dependency else "ok" for name in DEPENDENCIES}


def test_not_ready_when_aws_is_unreachable(make_client: object, monkeypatch: object) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # type: ignore[attr-defined]
    client = make_client(aws_max_attempts=1)  # type: ignore[operator]

    response = client.get("/readyz")

    assert response.status_code == 503
    assert set(response.json()["checks"].values()) == {"EndpointConnectionError"}


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {
        "/v1/signups",
        "/v1/records",
        "/v1/records/{id}",
        "/v1/records/{id}/{timestamp}",
    } <= set(schema["paths"])
    assert client.get("/docs").status_code == 200
