"""Synthetic requests (`logger-app verify`'s): accepted from the clients configured as synthetic
(and, locally, from the local issuer's verify client), and marked on their server span."""

import uuid

from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from logger_app import local_issuer
from logger_app.auth import SYNTHETIC_ATTRIBUTE
from tests.integration.conftest import AppFactory
from tests.support import ALL_SCOPES, ISSUER_DIR


def _verify_headers() -> dict[str, str]:
    token = local_issuer.mint(ISSUER_DIR, ALL_SCOPES, client_id=local_issuer.SYNTHETIC_CLIENT_ID)
    return {"Authorization": f"Bearer {token}"}


def _marked(spans: InMemorySpanExporter) -> list[bool]:
    return [
        bool((span.attributes or {}).get(SYNTHETIC_ATTRIBUTE))
        for span in spans.get_finished_spans()
        if span.kind.name == "SERVER"
    ]


def test_the_local_verify_client_is_accepted_and_its_requests_are_marked(
    make_client: AppFactory, spans: InMemorySpanExporter
) -> None:
    client: TestClient = make_client()
    response = client.get(f"/v1/records/{uuid.uuid4()}", headers=_verify_headers())
    assert response.status_code == 404, response.text
    assert _marked(spans) == [True]


def test_a_patient_client_is_not_marked(client: TestClient, spans: InMemorySpanExporter) -> None:
    assert client.get(f"/v1/records/{uuid.uuid4()}").status_code == 404
    assert _marked(spans) == [False]
