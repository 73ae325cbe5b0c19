"""What the server span keeps of a request, against the real process (`logger-app serve`, its
spans written by the console exporter to stdout beside its log lines): no query string and no
header in any attribute, and a client address taken from X-Forwarded-For only when the peer is
a trusted proxy."""

import signal
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from harness.issuer import token
from tests.support import app_process

EMAIL = "query.leak@example.org"
FORGED_CLIENT = "203.0.113.7"


@pytest.mark.parametrize(
    ("semconv", "trusted_proxies", "client_address"),
    [
        # Production: the stable HTTP conventions; the peer (loopback) is not a trusted proxy,
        # as a task's own clients are not on ECS (only the VPC's load balancers are).
        ("http", "10.40.0.0/16", "127.0.0.1"),
        # The old and the new conventions at once (every attribute name either writes), and a
        # trusted peer: its X-Forwarded-For is believed.
        ("http/dup", "127.0.0.1", FORGED_CLIENT),
    ],
)
def test_no_query_string_or_header_in_spans_and_the_client_only_from_trusted_proxies(
    aws: str, tmp_path: Path, semconv: str, trusted_proxies: str, client_address: str
) -> None:
    bearer = token()
    query = f"access_token={bearer}&email={quote(EMAIL)}"
    output = tmp_path / "app.out"
    environment = {
        "OTEL_SEMCONV_STABILITY_OPT_IN": semconv,
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "LOGGER_APP_TRUSTED_PROXIES": trusted_proxies,
        # Asking the instrumentation to record every header changes nothing.
        "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST": ".*",
        "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE": ".*",
    }
    headers = {"Authorization": f"Bearer {bearer}", "X-Forwarded-For": FORGED_CLIENT}
    with output.open("wb") as sink, app_process(environment, stdout=sink) as (process, url):
        with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
            missing = client.get(f"/v1/records/{uuid.uuid4()}?{query}")
            assert missing.status_code == 404, missing.text
            signup = client.post(
                f"/v1/signups?{query}", json={"email": EMAIL, "full_name": "Query Leak"}
            )
            assert signup.status_code == 201, signup.text
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    text = output.read_text()

    assert '"http.route": "/v1/records/{id}"' in text  # the spans were exported
    assert '"http.route": "/v1/signups"' in text
    assert '"url.query": "REDACTED"' in text
    for secret in [bearer, *bearer.split("."), EMAIL, quote(EMAIL), "access_token"]:
        assert secret not in text
    assert "http.request.header" not in text
    assert "http.response.header" not in text
    assert f'"client.address": "{client_address}"' in text
    if client_address != FORGED_CLIENT:
        assert FORGED_CLIENT not in text
