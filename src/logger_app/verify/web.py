"""The few HTTP calls verify makes, with the standard library: the app's image carries no HTTP
client library of its own (httpx is a test dependency)."""

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TIMEOUT_SECONDS = 10.0


class UnreachableError(Exception):
    """No HTTP answer at all: refused, timed out, a name that does not resolve."""


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    headers: Mapping[str, str]

    def json(self) -> Any:
        return json.loads(self.text)


def request(
    method: str,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
        raise UnreachableError(f"not an http(s) URL: {url!r}")
    if params:
        url = f"{url}?{urllib.parse.urlencode(params)}"
    # The scheme is checked above: S310 warns of file: and custom schemes.
    outgoing = urllib.request.Request(url, data=body, headers=dict(headers or {}), method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(outgoing, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return _answer(response.status, response.read(), response.headers)
    except urllib.error.HTTPError as error:
        return _answer(error.code, error.read(), error.headers)
    except (OSError, ValueError) as error:
        raise UnreachableError(f"{type(error).__name__}: {error}") from None


def _answer(status: int, data: bytes, headers: Any) -> Answer:
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    return Answer(status, data.decode("utf-8", "replace"), lowered)


def get(url: str, params: Mapping[str, str] | None = None, **headers: str) -> Answer:
    return request("GET", url, params=params, headers=headers)


def post_json(url: str, payload: Any, headers: Mapping[str, str]) -> Answer:
    return request(
        "POST",
        url,
        headers={**headers, "Content-Type": "application/json"},
        body=json.dumps(payload).encode(),
    )


def post_form(url: str, form: Mapping[str, str], headers: Mapping[str, str]) -> Answer:
    return request(
        "POST",
        url,
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        body=urllib.parse.urlencode(form).encode(),
    )
