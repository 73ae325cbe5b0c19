"""The AMP sink against a real Prometheus (Debian's) behind a SigV4-checking proxy: the sink's
queries are signed for `aps` in the region, with the default credential chain."""

import shutil
import subprocess
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.processes import free_port, stop_process, wait_for_http
from logger_app.verify.amp import AmpSink
from logger_app.verify.sinks import Journey
from tests.integration.verify.signing_proxy import ACCESS_KEY, SECRET_KEY, signing_proxy
from tests.support import http_server

REGION = "us-east-1"
WORKSPACE = "ws-0123abcd-4567-89ef-0123-456789abcdef"
SERIES = (
    'logger_app_signups_total{outcome="created",traffic="synthetic"}',
    'logger_app_records_total{kind="note",outcome="created",traffic="synthetic"}',
    # A patient's sign-up: it must not pass for the journey's.
    'logger_app_signups_total{outcome="created",traffic="patient"}',
)


class Counters:
    """What the app's processes expose, scraped by Prometheus every 100 ms (AMP gets it by
    remote write; what a query reads is the same). Every series starts at zero, as the app
    records them at start-up."""

    def __init__(self) -> None:
        self.values = dict.fromkeys(SERIES, 0.0)
        self.scrapes = 0
        self.port = 0  # the exporter's, once it listens

    def exposition(self) -> bytes:
        self.scrapes += 1
        return "".join(f"{name} {value}\n" for name, value in self.values.items()).encode()

    def add(self, series: str, amount: float = 1) -> None:
        self.values[series] += amount

    def wait_for_scrapes(self, count: int = 3) -> None:
        # Past a few scrapes, Prometheus holds the values set before.
        target, deadline = self.scrapes + count, time.monotonic() + 10
        while self.scrapes < target and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture(scope="module")
def counters() -> Iterator[Counters]:
    counters = Counters()

    class Exporter(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = counters.exposition()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with http_server(Exporter) as url:
        counters.port = int(url.rsplit(":", 1)[1])
        yield counters


@pytest.fixture(scope="module")
def prometheus(counters: Counters, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed: run scripts/ensure-e2e-tools.sh")
    workdir = tmp_path_factory.mktemp("prometheus")
    config = workdir / "prometheus.yml"
    target = f"127.0.0.1:{counters.port}"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "100ms", "scrape_timeout": "100ms"},
                "scrape_configs": [{"job_name": "app", "static_configs": [{"targets": [target]}]}],
            }
        )
    )
    port = free_port()
    with Path(workdir / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/-/ready", timeout=30)
        counters.wait_for_scrapes()
        yield url
    finally:
        stop_process(process)


@pytest.fixture
def amp(prometheus: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The workspace's query API; the sinks sign with the default chain's (here env) keys."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with signing_proxy(prometheus, region=REGION, workspace=WORKSPACE) as proxy:
        yield f"{proxy}/workspaces/{WORKSPACE}/api/v1"


def journey() -> Journey:
    return Journey(("0" * 32,), "patient-1", "record-1", time.time())


def sink(api: str, region: str = REGION) -> AmpSink:
    return AmpSink(region=region, workspace=WORKSPACE, api=api)


def test_arrived_once_every_counter_of_the_journey_moved(amp: str, counters: Counters) -> None:
    amp_sink = sink(amp)
    amp_sink.before()
    for series in SERIES:
        counters.add(series)
    counters.wait_for_scrapes()

    assert amp_sink.missing(journey()) is None


def test_a_counter_that_did_not_move_is_named(amp: str, counters: Counters) -> None:
    amp_sink = sink(amp)
    amp_sink.before()
    counters.add(SERIES[1])
    counters.add(SERIES[2])
    counters.wait_for_scrapes()

    missing = amp_sink.missing(journey())

    assert missing is not None
    assert missing.startswith("the sign-ups counter has not moved (")
    assert "aps:RemoteWrite" in missing


def test_nothing_moved_before_the_export(amp: str, counters: Counters) -> None:
    amp_sink = sink(amp)
    amp_sink.before()

    missing = amp_sink.missing(journey())

    assert missing is not None
    assert missing.startswith("the sign-ups, records counters have not moved")


def test_a_query_signed_for_another_region_is_refused(amp: str) -> None:
    # The proxy, like AMP, takes only signatures for aps in its own region.
    amp_sink = sink(amp, region="eu-west-1")
    amp_sink.before()

    missing = amp_sink.missing(journey())

    assert missing == (
        "no reading of the counters before the journey: "
        "the task role lacks aps:QueryMetrics (HTTP 403)"
    )


def test_without_a_reading_before_the_journey_the_sink_is_missing(amp: str) -> None:
    missing = sink(amp).missing(journey())

    assert missing == (
        "no reading of the counters before the journey: before() was not called before the journey"
    )


def test_an_unknown_workspace_is_named(amp: str) -> None:
    other = amp.replace(WORKSPACE, "ws-other")
    amp_sink = AmpSink(region=REGION, workspace="ws-other", api=other)
    amp_sink.before()

    missing = amp_sink.missing(journey())

    assert missing is not None
    assert missing.endswith("no AMP workspace ws-other in this region (HTTP 404)")


def test_a_signature_with_the_wrong_key_is_refused(
    amp: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    amp_sink = sink(amp)
    amp_sink.before()

    missing = amp_sink.missing(journey())

    assert missing is not None
    assert missing.endswith("the task role lacks aps:QueryMetrics (HTTP 403)")


def test_an_unreachable_amp_is_missing_not_an_exception(amp: str) -> None:
    amp_sink = sink(f"http://127.0.0.1:{free_port()}/workspaces/{WORKSPACE}/api/v1")
    amp_sink.before()

    missing = amp_sink.missing(journey())

    assert missing is not None
    assert missing.startswith(
        "no reading of the counters before the journey: AMP query failed: unreachable (URLError"
    )
    assert "Connection refused" in missing


def test_temporary_credentials_sign_too(amp: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The task role's credentials carry a session token, sent and signed with the query.
    monkeypatch.setenv("AWS_SESSION_TOKEN", "task-role-session-token")
    amp_sink = sink(amp)
    amp_sink.before()

    missing = amp_sink.missing(journey())

    assert missing is not None
    assert "counters have not moved" in missing
