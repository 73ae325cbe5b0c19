"""AMP's stand-in: a real Prometheus behind a proxy that, like AMP, answers only requests whose
SigV4 signature botocore recomputes to the same value for service `aps` in its region, and
only for its workspace's path."""

import hmac
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.support import http_server

ACCESS_KEY = "AKIDVERIFYTEST"
SECRET_KEY = "verify-test-secret"
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/\d{8}/(?P<scope>[^,]+), "
    r"SignedHeaders=(?P<signed>[^,]+), Signature=(?P<signature>[0-9a-f]{64})"
)


def signed_correctly(method: str, url: str, headers: Any, region: str) -> bool:
    match = _AUTHORIZATION.fullmatch(headers.get("Authorization", ""))
    if match is None or match["key"] != ACCESS_KEY:
        return False
    if match["scope"] != f"{region}/aps/aws4_request":
        return False
    signed = match["signed"].split(";")
    if "X-Amz-Security-Token" in headers and "x-amz-security-token" not in signed:
        return False
    request = AWSRequest(method=method, url=url, headers={h: headers[h] for h in signed})
    request.context["timestamp"] = headers["X-Amz-Date"]
    auth = SigV4Auth(
        Credentials(ACCESS_KEY, SECRET_KEY, headers.get("X-Amz-Security-Token")), "aps", region
    )
    expected = auth.signature(
        auth.string_to_sign(request, auth.canonical_request(request)), request
    )
    return hmac.compare_digest(expected, match["signature"])


@contextmanager
def signing_proxy(prometheus: str, *, region: str, workspace: str) -> Iterator[str]:
    """Yields the proxy's base URL; its workspace API is <url>/workspaces/<workspace>/api/v1."""
    prefix = f"/workspaces/{workspace}"

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = f"http://{self.headers['Host']}{self.path}"
            if not signed_correctly("GET", url, self.headers, region):
                return self._answer(403, b'{"message":"signature does not match"}')
            if not self.path.startswith(prefix + "/api/v1/"):
                return self._answer(404, b'{"message":"workspace not found"}')
            try:
                with urllib.request.urlopen(prometheus + self.path[len(prefix) :], timeout=5) as r:
                    self._answer(r.status, r.read())
            except urllib.error.HTTPError as error:
                self._answer(error.code, error.read())

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with http_server(Proxy) as url:
        yield url
