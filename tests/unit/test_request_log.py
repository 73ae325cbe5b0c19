"""RequestLog, the middleware: one ``http.request`` line per request, none for the paths it is
told to skip; what it skips is its caller's to say (it imports no route)."""

import logging
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from logger_app.request_log import RequestLog


def _ok(_: object) -> PlainTextResponse:
    return PlainTextResponse("ok")


def test_skips_the_paths_it_is_given_and_logs_the_others(caplog: pytest.LogCaptureFixture) -> None:
    inner = Starlette(routes=[Route("/probe", _ok), Route("/work", _ok)])
    app = RequestLog(inner, skip_paths=("/probe",))

    with caplog.at_level(logging.INFO, logger="logger_app.http"), TestClient(app) as client:
        client.get("/probe")
        client.get("/work")

    lines = [r for r in caplog.records if r.name == "logger_app.http"]
    assert [(r.event, r.route, r.status) for r in lines] == [  # type: ignore[attr-defined]
        ("http.request", "/work", 200)
    ]


def test_the_middleware_imports_no_route() -> None:
    # Importing the routes would pull readiness, services and the publisher into a middleware.
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, logger_app.request_log; "
            "print(sorted(m for m in sys.modules if m.startswith('logger_app.')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "logger_app.routes" not in loaded
