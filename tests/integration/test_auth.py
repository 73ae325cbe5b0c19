"""Bearer tokens against the real app process over real HTTP, with an issuer shaped like Amazon
Cognito (its JWKS served over HTTPS, with a certificate the app is given to trust): every 401,
403 and 503, the JWKS cache, the audit log, and that no token reaches a log line, a span or a
metric label."""

import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from harness.processes import BIN, free_port
from tests.support import app_process
from tests.tls import self_signed_certificate, server_context

CLIENT_ID = "test-client"
ALL_SCOPES = "signups:write records:write records:read"
RECORD = {"patient_id": str(uuid.uuid4()), "doctor_id": "dr-auth", "kind": "note"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    """A token issuer: RSA keys, and its JWKS over HTTPS (which can be taken down)."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.published: list[str] = []
        self.available = True
        self.fetches = 0
        self.kid = self.add_key()
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.fetches += 1
                if not issuer.available or self.path != "/pool/.well-known/jwks.json":
                    self.send_error(503 if not issuer.available else 404)
                    return
                body = json.dumps({"keys": [issuer.jwk(kid) for kid in issuer.published]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.certificate, key = self_signed_certificate(Path(tempfile.mkdtemp()))
        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.socket = server_context(self.certificate, key).wrap_socket(
            self.server.socket, server_side=True
        )
        self.url = f"https://127.0.0.1:{self.server.server_port}/pool"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add_key(self, publish: bool = True) -> str:
        kid = uuid.uuid4().hex[:12]
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if publish:
            self.published.append(kid)
        return kid

    def jwk(self, kid: str) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.keys[kid].public_key(), as_dict=True)
        return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": CLIENT_ID,
            "client_id": CLIENT_ID,
            "token_use": "access",
            "scope": ALL_SCOPES,
            "iat": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, kid: str | None = None, key: Any = None, **overrides: Any) -> str:
        kid = kid or self.kid
        return jwt.encode(
            self.claims(**overrides),
            key or self.keys[kid],
            algorithm="RS256",
            headers={"kid": kid},
        )

    def hs256_with_public_key(self) -> str:
        """The algorithm-confusion attack: HMAC keyed with the issuer's public key."""
        public_pem = (
            self.keys[self.kid]
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": self.kid}).encode())
        payload = _b64(json.dumps(self.claims()).encode())
        signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    started = Issuer()
    yield started
    started.stop()


class Api:
    def __init__(self, process: subprocess.Popen[bytes], url: str, output: Path) -> None:
        self.process = process
        self.client = httpx.Client(base_url=url, timeout=30)
        self.output_path = output

    def call(
        self,
        method: str,
        path: str,
        token: str | None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        authorization = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.request(
            method, path, headers={**authorization, **(headers or {})}, **kwargs
        )

    def stop(self) -> str:
        """SIGTERM, then everything it wrote: log lines, and spans and metrics (console)."""
        self.client.close()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        return self.output_path.read_text()


@pytest.fixture
def start_api(aws: str, issuer: Issuer, tmp_path: Path) -> Iterator[Callable[..., Api]]:
    """The app as a real process trusting `issuer` (not the local one); spans and metrics are
    written to stdout with the logs, so one file holds everything it emitted."""
    with ExitStack() as stack:

        def start(**environment: str) -> Api:
            output = tmp_path / f"app-{uuid.uuid4().hex[:8]}.out"
            env = {
                "LOGGER_APP_AUTH_ISSUER": issuer.url,
                "LOGGER_APP_AUTH_CLIENT_IDS": f"other-client,{CLIENT_ID}",
                "LOGGER_APP_AUTH_JWKS_MIN_REFETCH_SECONDS": "1",
                # The issuer's certificate, trusted as a CA is (OpenSSL's default verify paths).
                "SSL_CERT_FILE": str(issuer.certificate),
                "OTEL_TRACES_EXPORTER": "console",
                "OTEL_METRICS_EXPORTER": "console",
                "OTEL_METRIC_EXPORT_INTERVAL": "500",
                **environment,
            }
            handle = stack.enter_context(output.open("wb"))
            process, url = stack.enter_context(app_process(env, local_issuer=False, stdout=handle))
            return Api(process, url, output)

        yield start


def _problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:logger-app:problem:{slug}"
    return body


def _json_lines(output: str) -> list[dict[str, Any]]:
    lines = []
    for line in output.splitlines():
        if line.startswith('{"time"'):
            lines.append(json.loads(line))
    return lines


def test_every_refused_token_gets_401_with_www_authenticate(
    start_api: Callable[..., Api], issuer: Issuer
) -> None:
    api = start_api()
    now = int(time.time())
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused = {
        "malformed": "not-a-jwt",
        "garbage segments": "aaa.bbb.ccc",
        "expired": issuer.token(iat=now - 700, exp=now - 60),
        "wrong issuer": issuer.token(iss="https://cognito-idp.eu-west-1.amazonaws.com/other"),
        "another client": issuer.token(client_id="someone-else"),
        "no client": issuer.token(client_id=None),
        "bad signature": issuer.token(key=stranger),
        "alg none": jwt.encode(
            issuer.claims(), None, algorithm="none", headers={"kid": issuer.kid}
        ),
        "HS256 with the public key": issuer.hs256_with_public_key(),
        "an ID token": issuer.token(token_use="id"),
        "no expiry": issuer.token(exp=None),
        "no issued-at": issuer.token(iat=None),
        "unknown key": issuer.token(kid="no-such-key", key=stranger),
    }
    for case, token in refused.items():
        response = api.call("GET", f"/v1/records/{uuid.uuid4()}", token)
        _problem(response, 401, "unauthorized")
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith('Bearer realm="logger-app", error="invalid_token"'), case
        assert "error_description=" in challenge, case

    missing = api.call("POST", "/v1/records", None, json=RECORD)
    _problem(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"] == 'Bearer realm="logger-app"'
    other_scheme = api.client.get(
        f"/v1/records/{uuid.uuid4()}", headers={"Authorization": "Basic eDp5"}
    )
    assert other_scheme.status_code == 401

    # A token within the leeway (30 s) is still accepted.
    late = issuer.token(iat=now - 700, exp=now - 10)
    assert api.call("GET", f"/v1/records/{uuid.uuid4()}", late).status_code == 404
    # Health checks need no token.
    assert api.client.get("/healthz").status_code == 200
    assert api.client.get("/readyz").status_code == 200


def test_token_times_must_be_numbers_and_its_lifetime_is_bounded(
    start_api: Callable[..., Api], issuer: Issuer
) -> None:
    api = start_api()
    now = int(time.time())
    refused = {
        "exp as a string": (issuer.token(exp=str(now + 600)), "the token's exp is not a number"),
        "iat as a string": (issuer.token(iat=str(now)), "the token's iat is not a number"),
        "nbf as a string": (issuer.token(nbf=str(now)), "the token's nbf is not a number"),
        "valid until 9999": (issuer.token(exp=253402300799), "lifetime is longer than allowed"),
        "a day and a minute": (issuer.token(exp=now + 86_460), "lifetime is longer than allowed"),
        "issued two days ago": (
            issuer.token(iat=now - 172_800, exp=now + 600),
            "lifetime is longer than allowed",
        ),
    }
    for case, (token, why) in refused.items():
        response = api.call("GET", f"/v1/records/{uuid.uuid4()}", token)
        _problem(response, 401, "unauthorized")
        assert why in response.headers["www-authenticate"], case
    # A day at most (LOGGER_APP_AUTH_MAX_TOKEN_LIFETIME_SECONDS), numbers as JSON numbers.
    a_day = issuer.token(iat=now, nbf=now, exp=now + 86_400)
    assert api.call("GET", f"/v1/records/{uuid.uuid4()}", a_day).status_code == 404
    as_floats = issuer.token(iat=now + 0.5, nbf=now + 0.5, exp=now + 600.5)
    assert api.call("GET", f"/v1/records/{uuid.uuid4()}", as_floats).status_code == 404

    strict = start_api(LOGGER_APP_AUTH_MAX_TOKEN_LIFETIME_SECONDS="300")
    assert strict.call("GET", f"/v1/records/{uuid.uuid4()}", a_day).status_code == 401
    five_minutes = issuer.token(exp=now + 300)
    assert strict.call("GET", f"/v1/records/{uuid.uuid4()}", five_minutes).status_code == 404


def test_an_audience_in_the_token_must_be_the_configured_one(
    start_api: Callable[..., Api], issuer: Issuer
) -> None:
    def status(api: Api, **claims: Any) -> int:
        return api.call("GET", f"/v1/records/{uuid.uuid4()}", issuer.token(**claims)).status_code

    # Client ids only (Cognito's tokens have no aud): a token naming an audience is for another
    # API, even from an allowed client.
    clients_only = start_api()
    assert status(clients_only) == 404
    assert status(clients_only, aud="another-api") == 401
    assert status(clients_only, aud=["another-api"]) == 401

    both = start_api(LOGGER_APP_AUTH_AUDIENCE="logger-app-api")
    assert status(both, aud="logger-app-api") == 404
    assert status(both, aud=["another-api", "logger-app-api"]) == 404
    assert status(both, aud="another-api") == 401
    assert status(both) == 404  # no aud: its client id binds it to this API
    assert status(both, aud="logger-app-api", client_id="someone-else") == 401

    audience_only = start_api(
        LOGGER_APP_AUTH_AUDIENCE="logger-app-api", LOGGER_APP_AUTH_CLIENT_IDS=""
    )
    assert status(audience_only, aud="logger-app-api", client_id="any-client") == 404
    assert status(audience_only, client_id="any-client") == 401  # nothing binds it to us


def test_a_missing_scope_gets_403_naming_it(start_api: Callable[..., Api], issuer: Issuer) -> None:
    api = start_api()
    reader = issuer.token(scope="records:read")
    for method, path, needed, body in [
        ("POST", "/v1/records", "records:write", RECORD),
        ("POST", "/v1/signups", "signups:write", {"email": "a@example.com", "full_name": "A"}),
    ]:
        response = api.call(method, path, reader, json=body)
        problem = _problem(response, 403, "insufficient-scope")
        assert problem["scope"] == needed
        assert needed in problem["detail"]
        assert response.headers["www-authenticate"] == (
            f'Bearer realm="logger-app", error="insufficient_scope", scope="{needed}"'
        )
    writer = issuer.token(scope="records:write signups:write")
    response = api.call("GET", f"/v1/records/{uuid.uuid4()}", writer)
    assert _problem(response, 403, "insufficient-scope")["scope"] == "records:read"
    # `scp` as a list (other issuers) works as well as Cognito's space-separated `scope`.
    listed = issuer.token(scope=None, scp=["records:read"])
    assert api.call("GET", f"/v1/records/{uuid.uuid4()}", listed).status_code == 404


def test_the_jwks_is_fetched_once_for_many_requests_and_again_on_rotation(
    start_api: Callable[..., Api], issuer: Issuer
) -> None:
    api = start_api()
    assert issuer.fetches == 0  # nothing fetched at start-up
    token = issuer.token()
    with ThreadPoolExecutor(16) as pool:  # concurrent first requests: one fetch between them
        statuses = list(
            pool.map(
                lambda _: api.call("GET", f"/v1/records/{uuid.uuid4()}", token).status_code,
                range(48),
            )
        )
    assert statuses == [404] * 48
    assert issuer.fetches == 1

    # Key rotation: the issuer publishes a new key; its first token makes one refetch.
    time.sleep(1.1)  # LOGGER_APP_AUTH_JWKS_MIN_REFETCH_SECONDS
    new_kid = issuer.add_key()
    rotated = issuer.token(kid=new_kid)
    for _ in range(10):
        assert api.call("GET", f"/v1/records/{uuid.uuid4()}", rotated).status_code == 404
    assert api.call("GET", f"/v1/records/{uuid.uuid4()}", token).status_code == 404
    assert issuer.fetches == 2

    # Made-up key ids cannot make the service hammer the issuer: none within the interval.
    for _ in range(20):
        forged = issuer.token(kid=uuid.uuid4().hex, key=issuer.keys[new_kid])
        assert api.call("GET", f"/v1/records/{uuid.uuid4()}", forged).status_code == 401
    assert issuer.fetches == 2


def test_a_token_used_before_is_refused_once_it_expires_or_its_key_is_withdrawn(
    start_api: Callable[..., Api], issuer: Issuer
) -> None:
    """A token verified once is not verified again (auth/token_cache.py), but its entry never
    outlives the token's exp nor the key being the issuer's current one."""
    api = start_api(LOGGER_APP_AUTH_JWKS_MAX_AGE_SECONDS="1", LOGGER_APP_AUTH_LEEWAY_SECONDS="0")
    token = issuer.token()
    exp = int(time.time()) + 2
    short = issuer.token(exp=exp)
    for _ in range(3):
        assert api.call("GET", f"/v1/records/{uuid.uuid4()}", token).status_code == 404
        assert api.call("GET", f"/v1/records/{uuid.uuid4()}", short).status_code == 404
    time.sleep(max(0.0, exp - time.time()) + 0.1)
    expired = api.call("GET", f"/v1/records/{uuid.uuid4()}", short)
    assert "the token has expired" in _problem(expired, 401, "unauthorized")["detail"]
    assert api.call("GET", f"/v1/records/{uuid.uuid4()}", token).status_code == 404

    issuer.published.remove(issuer.kid)  # rotated out, or compromised
    issuer.add_key()
    time.sleep(1.1)  # older than LOGGER_APP_AUTH_JWKS_MAX_AGE_SECONDS: refetched on next use
    withdrawn = api.call("GET", f"/v1/records/{uuid.uuid4()}", token)
    assert "signing key is unknown" in _problem(withdrawn, 401, "unauthorized")["detail"]
    api.stop()


def test_503_with_retry_after_when_the_jwks_cannot_be_fetched(
    start_api: Callable[..., Api], issuer: Issuer
) -> None:
    api = start_api()
    token = issuer.token()
    issuer.available = False
    response = api.call("GET", f"/v1/records/{uuid.uuid4()}", token)
    _problem(response, 503, "issuer-unavailable")
    assert response.headers["retry-after"] == "2"

    issuer.available = True
    time.sleep(1.1)
    assert api.call("GET", f"/v1/records/{uuid.uuid4()}", token).status_code == 404
    # Once cached, a key keeps working while the issuer is down.
    issuer.available = False
    assert api.call("GET", f"/v1/records/{uuid.uuid4()}", token).status_code == 404
    output = api.stop()
    assert '"event": "auth.jwks_unavailable"' in output


def test_audit_lines_and_no_token_or_personal_data_anywhere(
    start_api: Callable[..., Api], issuer: Issuer
) -> None:
    api = start_api()
    token = issuer.token()
    reader = issuer.token(scope="records:read")
    expired = issuer.token(iat=int(time.time()) - 700, exp=int(time.time()) - 100)
    patient = {"email": "grace.hopper@example.com", "full_name": "Grace Hopper"}

    signup = api.call("POST", "/v1/signups", token, json=patient)
    assert signup.status_code == 201, signup.text
    patient_id = signup.json()["patient_id"]
    record = {"patient_id": patient_id, "doctor_id": "dr-auth", "kind": "call_started"}
    created = api.call("POST", "/v1/records", token, json=record)
    assert created.status_code == 201, created.text
    record_id = created.json()["id"]
    assert api.call("GET", f"/v1/records/{record_id}", reader).status_code == 200
    missing_id = str(uuid.uuid4())
    assert api.call("GET", f"/v1/records/{missing_id}", reader).status_code == 404
    assert api.call("POST", "/v1/records", reader, json=record).status_code == 403
    assert api.call("GET", f"/v1/records/{record_id}", expired).status_code == 401
    output = api.stop()

    audit = [
        {
            k: v
            for k, v in line.items()
            if k in {"client_id", "action", "outcome", "reason", "patient_id", "record_id"}
        }
        for line in _json_lines(output)
        if line["event"] == "audit"
    ]
    assert audit == [
        {
            "client_id": CLIENT_ID,
            "action": "patient.sign_up",
            "outcome": "success",
            "patient_id": patient_id,
        },
        {
            "client_id": CLIENT_ID,
            "action": "record.create",
            "outcome": "success",
            "patient_id": patient_id,
            "record_id": record_id,
        },
        {
            "client_id": CLIENT_ID,
            "action": "record.read",
            "outcome": "success",
            "patient_id": patient_id,
            "record_id": record_id,
        },
        {
            "client_id": CLIENT_ID,
            "action": "record.read",
            "outcome": "not_found",
            "reason": "record-not-found",
            "record_id": missing_id,
        },
        # Refusals name their reason (never the token): the scope missing, the token expired.
        {
            "client_id": CLIENT_ID,
            "action": "record.create",
            "outcome": "denied",
            "reason": "insufficient-scope",
        },
        {
            "action": "record.read",
            "outcome": "unauthenticated",
            "reason": "token-expired",
            "record_id": record_id,
        },
    ]
    audit_lines = [line for line in _json_lines(output) if line["event"] == "audit"]
    assert all(line["logger"] == "logger_app.audit" for line in audit_lines)
    assert all(len(line["trace_id"]) == 32 for line in audit_lines)

    # The client id is on the server spans; nothing else from any token is anywhere: not in a
    # log line, not in a span (console exporter), not in a metric label (console exporter).
    assert f'"logger_app.client_id": "{CLIENT_ID}"' in output
    assert "resource_metrics" in output
    assert '"name": "logger_app.records"' in output
    secrets = [token, reader, expired, *token.split("."), *reader.split("."), *expired.split(".")]
    for secret in secrets:
        assert secret not in output
    assert "Authorization" not in output
    assert "authorization" not in output
    for value in patient.values():
        assert value.lower() not in output.lower()


def test_an_idempotency_key_belongs_to_the_client_that_used_it(
    start_api: Callable[..., Api], issuer: Issuer
) -> None:
    """Two clients of the issuer, the same Idempotency-Key: each its own key."""
    api = start_api()
    a = issuer.token()
    b = issuer.token(client_id="other-client", sub="other-client")
    key = {"Idempotency-Key": "the-same-key"}
    patient = {"email": "two.clients@example.com", "full_name": "Two Clients"}

    first = api.call("POST", "/v1/signups", a, key, json=patient)
    assert first.status_code == 201, first.text
    patient_id = first.json()["patient_id"]
    # B sending A's key and body gets no part of A's answer: for B the key is new, the email
    # already taken.
    stolen = api.call("POST", "/v1/signups", b, key, json=patient)
    _problem(stolen, 409, "email-already-registered")
    assert patient_id not in stolen.text
    # B's own sign-up with that key is its own.
    own = api.call("POST", "/v1/signups", b, key, json={**patient, "email": "b@example.com"})
    assert own.status_code == 201, own.text
    assert own.json()["patient_id"] != patient_id
    assert "idempotent-replayed" not in own.headers
    # Each client's replay answers that client's first request.
    replay_a = api.call("POST", "/v1/signups", a, key, json=patient)
    assert (replay_a.json(), replay_a.headers["idempotent-replayed"]) == (first.json(), "true")
    replay_b = api.call("POST", "/v1/signups", b, key, json={**patient, "email": "b@example.com"})
    assert (replay_b.json(), replay_b.headers["idempotent-replayed"]) == (own.json(), "true")
    # The same for records.
    record = {"patient_id": patient_id, "doctor_id": "dr-keys", "kind": "note"}
    record_key = {"Idempotency-Key": "the-same-record-key"}
    mine = api.call("POST", "/v1/records", a, record_key, json=record)
    theirs = api.call("POST", "/v1/records", b, record_key, json=record)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert "idempotent-replayed" not in theirs.headers
    output = api.stop()

    sign_ups = [
        (line["client_id"], line["outcome"], line.get("patient_id"))
        for line in _json_lines(output)
        if line["event"] == "audit" and line["action"] == "patient.sign_up"
    ]
    assert sign_ups == [
        (CLIENT_ID, "success", patient_id),
        ("other-client", "conflict", None),  # B is never credited with A's patient
        ("other-client", "success", own.json()["patient_id"]),
        (CLIENT_ID, "success", patient_id),
        ("other-client", "success", own.json()["patient_id"]),
    ]


def test_the_api_refuses_to_start_without_an_issuer() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGGER_APP_")}
    result = subprocess.run(
        [str(BIN / "logger-app"), "serve", "--port", str(free_port())],
        env={**env, "OTEL_SDK_DISABLED": "true"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "LOGGER_APP_AUTH_ISSUER: required" in result.stderr
    assert "Traceback" not in result.stderr

    no_client = {**env, "OTEL_SDK_DISABLED": "true", "LOGGER_APP_AUTH_ISSUER": "https://issuer"}
    result = subprocess.run(
        [str(BIN / "logger-app"), "serve", "--port", str(free_port())],
        env=no_client,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "LOGGER_APP_AUTH_CLIENT_IDS or LOGGER_APP_AUTH_AUDIENCE" in result.stderr

    # The keys decide whose tokens are accepted: never fetched over plain http.
    for insecure in (
        {"LOGGER_APP_AUTH_ISSUER": "http://issuer.example"},
        {
            "LOGGER_APP_AUTH_ISSUER": "https://issuer.example",
            "LOGGER_APP_AUTH_JWKS_URL": "http://issuer.example/jwks.json",
        },
    ):
        result = subprocess.run(
            [str(BIN / "logger-app"), "serve", "--port", str(free_port())],
            env={**env, **insecure, "OTEL_SDK_DISABLED": "true", "LOGGER_APP_AUTH_CLIENT_IDS": "a"},
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert result.returncode != 0, insecure
        assert "must be fetched over https" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
