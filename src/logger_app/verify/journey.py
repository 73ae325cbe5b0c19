"""The synthetic journey: a sign-up and a record through the real API, from the synthetic client,
with made-up data that names no one (an address at example.com, reserved by RFC 2606)."""

import base64
import os
import re
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from logger_app.scopes import VERIFY_SCOPES
from logger_app.synthetic import LOCAL_CLIENT_ID
from logger_app.verify import web
from logger_app.verify.sinks import Journey

TOKEN_VARIABLE = "LOGGER_APP_VERIFY_TOKEN"  # noqa: S105 (a variable name)
CLIENT_ID_VARIABLE = "LOGGER_APP_VERIFY_CLIENT_ID"
CLIENT_SECRET_VARIABLE = "LOGGER_APP_VERIFY_CLIENT_SECRET"  # noqa: S105 (a variable name)
SCOPES = VERIFY_SCOPES
FULL_NAME = "Verify Synthetic"
DOCTOR_ID = LOCAL_CLIENT_ID
TRACE_RESPONSE = re.compile(r"^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


class JourneyFailedError(Exception):
    """The journey could not be made: the API (or the token endpoint) refused or was down."""


def client_credentials_token(token_url: str, environ: Mapping[str, str]) -> str:
    """An access token for the synthetic client by OAuth 2.0 client credentials (RFC 6749
    §4.4), as Cognito's /oauth2/token serves it: the client authenticates with HTTP Basic."""
    client_id = environ.get(CLIENT_ID_VARIABLE)
    secret = environ.get(CLIENT_SECRET_VARIABLE)
    if not client_id or not secret:
        raise JourneyFailedError(
            f"--token-url needs the synthetic client's id and secret in {CLIENT_ID_VARIABLE} "
            f"and {CLIENT_SECRET_VARIABLE}"
        )
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    try:
        response = web.post_form(
            token_url, {"grant_type": "client_credentials"}, {"Authorization": f"Basic {basic}"}
        )
    except web.UnreachableError as error:
        raise JourneyFailedError(f"token endpoint {token_url} unreachable: {error}") from None
    if response.status != 200:
        # The body is an OAuth error code (invalid_client, ...), never a token.
        raise JourneyFailedError(
            f"token endpoint {token_url} answered {response.status}: {response.text[:200]}"
        )
    token = response.json().get("access_token")
    if not isinstance(token, str) or not token:
        raise JourneyFailedError(f"token endpoint {token_url} answered without an access_token")
    return token


def local_token(cwd: Path, package_file: Path, environ: Mapping[str, str]) -> str:
    """A token of the synthetic client from the local issuer (make run's, compose's)."""
    from logger_app.issuer_dir import IssuerNotFoundError, issuer_dir
    from logger_app.local_issuer import SYNTHETIC_CLIENT_ID, mint

    try:
        directory = issuer_dir(None, environ, cwd, package_file)
    except IssuerNotFoundError as error:
        raise JourneyFailedError(
            f"no token: give --token, {TOKEN_VARIABLE} or --token-url; {error}"
        ) from None
    return mint(directory, SCOPES, lifetime_seconds=600, client_id=SYNTHETIC_CLIENT_ID)


def synthetic_token(
    token: str | None, token_url: str | None, environ: Mapping[str, str] = os.environ
) -> str:
    """--token, else LOGGER_APP_VERIFY_TOKEN, else client credentials from --token-url, else
    the local issuer."""
    if token:
        return token
    if environ.get(TOKEN_VARIABLE):
        return environ[TOKEN_VARIABLE]
    if token_url:
        return client_credentials_token(token_url, environ)
    return local_token(Path.cwd(), Path(__file__), environ)


def _trace_id(response: web.Answer) -> str | None:
    match = TRACE_RESPONSE.match(response.headers.get("traceresponse", ""))
    return match.group(1) if match else None


def _post(api: str, token: str, path: str, body: dict[str, str]) -> web.Answer:
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
    try:
        response = web.post_json(api.rstrip("/") + path, body, headers)
    except web.UnreachableError as error:
        raise JourneyFailedError(f"API {api} unreachable: POST {path}: {error}") from None
    if response.status != 201:
        trace = _trace_id(response)
        # A problem document's title and type say why; its detail never quotes the input.
        cause = (
            response.text[:300]
            if response.headers.get("content-type", "").startswith("application/problem+json")
            else ""
        )
        raise JourneyFailedError(
            f"API {api}: POST {path} answered {response.status}"
            + (f" (trace {trace})" if trace else "")
            + (f": {cause}" if cause else "")
        )
    if _trace_id(response) is None:
        raise JourneyFailedError(
            f"API {api}: POST {path} answered without a traceresponse header (an app older "
            "than this command?): the sinks cannot be searched for its trace"
        )
    return response


def run_journey(api: str, token: str) -> Journey:
    """One sign-up, then one record for that patient; their trace ids for the sinks."""
    started = time.time()
    tag = uuid.uuid4().hex
    signup = _post(
        api,
        token,
        "/v1/signups",
        {"email": f"verify-{tag}@example.com", "full_name": FULL_NAME},
    )
    patient_id = str(signup.json()["patient_id"])
    record = _post(
        api,
        token,
        "/v1/records",
        {
            "patient_id": patient_id,
            "doctor_id": DOCTOR_ID,
            "kind": "note",
            "details": "synthetic journey of logger-app verify",
        },
    )
    trace_ids = tuple(filter(None, (_trace_id(signup), _trace_id(record))))
    return Journey(
        trace_ids=trace_ids,
        patient_id=patient_id,
        record_id=str(record.json()["id"]),
        started=started,
    )
