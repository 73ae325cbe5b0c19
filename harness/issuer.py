"""The local token issuer every app the tests and the benchmark start trusts (its key pair
made on first use), and access tokens from it. The processes they start get it through the
environment (ISSUER_ENV)."""

import tempfile
from pathlib import Path

from logger_app.local_issuer import mint

ALL_SCOPES = ("signups:write", "records:write", "records:read")
ISSUER_DIR = Path(tempfile.mkdtemp(prefix="logger-app-test-issuer-"))
ISSUER_ENV = {"LOGGER_APP_LOCAL_ISSUER_DIR": str(ISSUER_DIR)}


def token(*scopes: str, lifetime_seconds: int = 3600) -> str:
    """An access token from the local issuer, with these scopes (default: all)."""
    return mint(ISSUER_DIR, scopes or ALL_SCOPES, lifetime_seconds=lifetime_seconds)


def auth_headers(*scopes: str) -> dict[str, str]:
    """The Authorization header of a request with these scopes (default: all)."""
    return {"Authorization": f"Bearer {token(*scopes)}"}
