"""Where `logger-app verify` gets its token, and how a journey that cannot start says so: the
client-credentials grant (RFC 6749 §4.4) against a real HTTP token endpoint that checks the
client's Basic credentials and the grant type, as Cognito's /oauth2/token does."""

import base64
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

import pytest

from harness.processes import free_port
from logger_app.verify.journey import JourneyFailedError, run_journey, synthetic_token
from tests.support import http_server

CLIENT = {"LOGGER_APP_VERIFY_CLIENT_ID": "verify-client", "LOGGER_APP_VERIFY_CLIENT_SECRET": "s3"}
ISSUED = "issued-access-token"


@pytest.fixture
def token_url() -> Iterator[str]:
    expected = "Basic " + base64.b64encode(b"verify-client:s3").decode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            if self.headers.get("Authorization") != expected:
                status, body = 401, {"error": "invalid_client"}
            elif form.get("grant_type") != ["client_credentials"]:
                status, body = 400, {"error": "unsupported_grant_type"}
            else:
                status, body = 200, {"access_token": ISSUED, "token_type": "Bearer"}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with http_server(Handler) as url:
        yield f"{url}/oauth2/token"


def test_the_token_option_wins_then_the_variable() -> None:
    environ = {"LOGGER_APP_VERIFY_TOKEN": "from-env", **CLIENT}
    assert synthetic_token("given", "http://127.0.0.1:1/", environ) == "given"
    assert synthetic_token(None, "http://127.0.0.1:1/", environ) == "from-env"


def test_client_credentials_from_the_token_endpoint(token_url: str) -> None:
    assert synthetic_token(None, token_url, CLIENT) == ISSUED


def test_a_refused_client_names_the_endpoint_and_its_answer(token_url: str) -> None:
    wrong = {**CLIENT, "LOGGER_APP_VERIFY_CLIENT_SECRET": "wrong"}
    with pytest.raises(JourneyFailedError, match=r"answered 401: .*invalid_client") as raised:
        synthetic_token(None, token_url, wrong)
    assert token_url in str(raised.value)
    assert "wrong" not in str(raised.value)


def test_client_credentials_need_the_id_and_secret(token_url: str) -> None:
    with pytest.raises(JourneyFailedError, match="LOGGER_APP_VERIFY_CLIENT_SECRET"):
        synthetic_token(None, token_url, {"LOGGER_APP_VERIFY_CLIENT_ID": "verify-client"})


def test_an_api_that_is_down_is_named() -> None:
    api = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(JourneyFailedError, match=rf"API {api} unreachable: POST /v1/signups"):
        run_journey(api, "token")
