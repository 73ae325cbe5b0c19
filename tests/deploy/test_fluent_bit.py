"""fluent-bit.conf: the app's real log lines through its rules, and every option name it uses.

Fluent Bit cannot run here (Debian has no fluent-bit package and there is no Docker engine), so
tests/deploy/fluentbit.py models the rules; the option names are checked against the lists the
Fluent Bit docs define (below, with their links).
"""

import contextlib
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider

from logger_app.logs import ServiceJsonFormatter

from .fluentbit import Event, LokiEntry, Pipeline, Section, loki_entry, parse_classic
from .helpers import REPO

ECS_ENV = {
    "LOKI_HOST": "loki.logger-app.internal",
    "LOKI_PORT": "3100",
    "SERVICE_NAME": "logger-app",
    "ENVIRONMENT": "prod",
}
TASK_ID = "5f3c0a2b9d8e4f6a8b7c6d5e4f3a2b1c"
TASK_ARN = f"arn:aws:ecs:eu-west-1:123456789012:task/logger-app/{TASK_ID}"
# Mounted at these paths in the log router image (infra/) and in docker compose.
IMAGE_PATHS = {
    "/extra.conf": REPO / "fluent-bit.conf",
    "/fluent-bit/parsers/logger-app.conf": REPO / "fluent-bit-parsers.conf",
}
# High-cardinality values: a new stream per request, patient or task if they were labels.
NEVER_LABELS = {"trace_id", "span_id", "ecs_task_arn", "container_id", "patient_id", "record_id"}
ALLOWED_LABELS = {"service", "environment", "container", "level"}


def _firelens_config() -> list[Section]:
    return parse_classic(REPO / "fluent-bit.conf", ECS_ENV)


def _pipeline(sections: list[Section]) -> Pipeline:
    [service_parsers] = [s.get("parsers_file") for s in sections if s.kind == "SERVICE"]
    assert service_parsers in IMAGE_PATHS, service_parsers
    return Pipeline(sections, parse_classic(IMAGE_PATHS[service_parsers]))


def _app_log_lines() -> dict[str, str]:
    """Lines written by the app's own JSON formatter, inside a recorded span like a request."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ServiceJsonFormatter("prod"))
    logger = logging.getLogger("logger_app.test_fluent_bit")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    tracer = TracerProvider().get_tracer(__name__)
    try:
        with tracer.start_as_current_span("POST /v1/signups"):
            logger.info(
                "patient signed up",
                extra={"event": "signup.created", "patient_id": "0b7e4d", "outcome": "created"},
            )
            logger.info(
                "request handled",
                extra={
                    "event": "http.request",
                    "method": "POST",
                    "route": "/v1/signups",
                    "status": 201,
                    "duration_ms": 12.5,
                },
            )
        logger.warning("collector unreachable", extra={"event": "telemetry.export_failed"})
    finally:
        logger.removeHandler(handler)
    signup, request, warning = stream.getvalue().splitlines()
    return {"signup": signup, "request": request, "warning": warning}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _running_app_lines() -> list[str]:
    """stdout of `logger-app serve` (the image's CMD) across start, one request and SIGTERM."""
    port = _free_port()
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
    }
    server = subprocess.Popen(
        ["logger-app", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "logger-app serve did not come up"
                time.sleep(0.2)
        # A 404 still goes through the request log, inside the server span.
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/no-such-route", timeout=5)
    finally:
        server.send_signal(signal.SIGTERM)
        stdout, _ = server.communicate(timeout=30)
    return stdout.splitlines()


def _firelens_event(line: str, source: str = "stdout") -> Event:
    """A record as FireLens hands it to the router: the raw line in "log", plus metadata."""
    return Event(
        f"app-firelens-{TASK_ID}",
        {
            "container_id": f"{TASK_ID}-1234567890",
            "container_name": "app",
            "source": source,
            "log": line,
            "ecs_cluster": "logger-app",
            "ecs_task_arn": TASK_ARN,
            "ecs_task_definition": "logger-app:7",
        },
    )


def _ship(event: Event) -> list[LokiEntry]:
    delivered = _pipeline(_firelens_config()).run(event)
    return [loki_entry(output, e) for output, e in delivered if output.name == "loki"]


@pytest.fixture(scope="module")
def lines() -> dict[str, str]:
    return _app_log_lines()


def test_the_running_app_lines_all_reach_loki_with_bounded_labels():
    lines = _running_app_lines()
    [request] = [json.loads(line) for line in lines if '"http.request"' in line]
    assert len(request["trace_id"]) == 32
    for line in lines:
        [entry] = _ship(_firelens_event(line))
        assert entry.labels["service"] == "logger-app"
        assert entry.labels["level"] == json.loads(line)["level"]
        assert set(entry.labels) <= ALLOWED_LABELS
        assert "trace_id" in json.loads(entry.line)


def test_an_app_line_reaches_loki_exactly_once(lines):
    assert len(_ship(_firelens_event(lines["signup"]))) == 1


def test_labels_are_service_environment_and_level(lines):
    [entry] = _ship(_firelens_event(lines["signup"]))
    assert entry.labels == {"service": "logger-app", "environment": "prod", "level": "INFO"}


def test_level_label_follows_the_line(lines):
    [entry] = _ship(_firelens_event(lines["warning"]))
    assert entry.labels["level"] == "WARNING"


@pytest.mark.parametrize("name", ["signup", "request", "warning"])
def test_no_label_is_high_cardinality(lines, name):
    [entry] = _ship(_firelens_event(lines[name]))
    assert set(entry.labels) <= ALLOWED_LABELS
    assert not set(entry.labels) & NEVER_LABELS


def test_line_is_the_app_json_with_trace_context(lines):
    [entry] = _ship(_firelens_event(lines["signup"]))
    shipped = json.loads(entry.line)
    original = json.loads(lines["signup"])
    assert len(shipped["trace_id"]) == 32
    assert shipped["trace_id"] == original["trace_id"]
    assert shipped["span_id"] == original["span_id"]
    assert {k: shipped[k] for k in ("event", "message", "patient_id", "outcome")} == {
        "event": "signup.created",
        "message": "patient signed up",
        "patient_id": "0b7e4d",
        "outcome": "created",
    }


def test_request_line_keeps_the_http_fields(lines):
    [entry] = _ship(_firelens_event(lines["request"]))
    shipped = json.loads(entry.line)
    assert {k: shipped[k] for k in ("method", "route", "status", "duration_ms")} == {
        "method": "POST",
        "route": "/v1/signups",
        "status": 201,
        "duration_ms": 12.5,
    }


def test_task_identity_goes_to_structured_metadata_not_the_line(lines):
    [entry] = _ship(_firelens_event(lines["signup"]))
    assert entry.structured_metadata["ecs_task_arn"] == TASK_ARN
    assert "ecs_task_arn" not in json.loads(entry.line)
    assert "container_id" not in json.loads(entry.line)


def test_entry_time_is_the_time_the_app_logged(lines):
    [entry] = _ship(_firelens_event(lines["request"]))
    logged = json.loads(lines["request"])["time"]
    assert entry.time == datetime.fromisoformat(logged).astimezone(UTC)


def test_a_line_that_is_not_json_is_shipped_as_it_came():
    crash = "Traceback (most recent call last):"
    [entry] = _ship(_firelens_event(crash, source="stderr"))
    assert entry.labels == {"service": "logger-app", "environment": "prod"}
    assert json.loads(entry.line)["log"] == crash


def test_firelens_health_check_records_are_not_shipped():
    healthcheck = Event("firelens-healthcheck", {"log": "ping"})
    assert _ship(healthcheck) == []


def test_records_to_loki_pass_through_a_filesystem_buffer():
    # FireLens's generated forward input is memory-only: the re-emitting filter's own input is
    # where records reach disk before the output.
    sections = _firelens_config()
    [rewrite] = [s for s in sections if s.name == "rewrite_tag"]
    [loki] = [s for s in sections if s.name == "loki"]
    assert rewrite.get("emitter_storage.type") == "filesystem"
    [rule] = rewrite.get_all("rule")
    new_tag = rule.split()[2]
    assert _pipeline(sections).run(Event(new_tag, {"log": "x"}))[0][0] is loki


def test_buffer_has_a_path_and_a_bounded_size():
    sections = _firelens_config()
    [service] = [s for s in sections if s.kind == "SERVICE"]
    [loki] = [s for s in sections if s.name == "loki"]
    assert service.get("storage.path")
    assert loki.get("storage.total_limit_size", "").upper().endswith(("K", "M", "G"))


def test_retries_have_no_low_limit():
    [loki] = [s for s in _firelens_config() if s.name == "loki"]
    retry_limit = loki.get("retry_limit", "1").lower()
    assert retry_limit in {"no_limits", "false"} or int(retry_limit) >= 100


def test_loki_address_comes_from_the_environment():
    [loki] = [s for s in parse_classic(REPO / "fluent-bit.conf") if s.name == "loki"]
    assert (loki.get("host"), loki.get("port")) == ("${LOKI_HOST}", "${LOKI_PORT}")


def test_what_can_still_be_lost_is_written_down():
    header = (REPO / "fluent-bit.conf").read_text().split("[SERVICE]")[0]
    assert "can still be lost" in header
    assert "storage.total_limit_size" in header


# Option names the Fluent Bit docs define for each section and plugin used (lower case).
# https://docs.fluentbit.io/manual/administration/configuring-fluent-bit/classic-mode/configuration-file
# https://docs.fluentbit.io/manual/administration/buffering-and-storage
# https://docs.fluentbit.io/manual/administration/scheduling-and-retries
SERVICE_OPTIONS = {
    "flush", "grace", "daemon", "dns.mode", "dns.resolver", "dns.prefer_ipv4", "log_file",
    "log_level", "http_server", "http_listen", "http_port", "health_check", "hc_errors_count",
    "hc_retry_failure_count", "hc_period", "parsers_file", "plugins_file", "streams_file",
    "coro_stack_size", "scheduler.cap", "scheduler.base", "json.convert_nan_to_null",
    "storage.path", "storage.sync", "storage.checksum", "storage.max_chunks_up",
    "storage.backlog.mem_limit", "storage.metrics", "storage.delete_irrecoverable_chunks",
}  # fmt: skip
# https://docs.fluentbit.io/manual/pipeline/inputs (common) and .../inputs/forward
INPUT_OPTIONS = {
    "name", "alias", "tag", "log_level", "mem_buf_limit", "storage.type", "threaded",
}  # fmt: skip
FORWARD_OPTIONS = {
    "listen", "port", "unix_path", "unix_perm", "buffer_chunk_size", "buffer_max_size",
    "tag_prefix", "shared_key", "self_hostname", "security.users", "empty_shared_key",
}  # fmt: skip
# https://docs.fluentbit.io/manual/pipeline/filters (common)
FILTER_OPTIONS = {"name", "match", "match_regex", "alias", "log_level"}
# https://docs.fluentbit.io/manual/pipeline/filters/rewrite-tag
REWRITE_TAG_OPTIONS = {
    "rule", "emitter_name", "emitter_storage.type", "emitter_mem_buf_limit",
}  # fmt: skip
# https://docs.fluentbit.io/manual/pipeline/filters/parser
PARSER_FILTER_OPTIONS = {"key_name", "parser", "preserve_key", "reserve_data", "unescape_key"}
# https://docs.fluentbit.io/manual/pipeline/outputs (common) and
# https://docs.fluentbit.io/manual/administration/buffering-and-storage (storage.total_limit_size)
OUTPUT_OPTIONS = {
    "name", "match", "match_regex", "alias", "log_level", "retry_limit",
    "storage.total_limit_size", "workers", "tls", "tls.verify", "net.keepalive",
    "net.connect_timeout",
}  # fmt: skip
# https://docs.fluentbit.io/manual/pipeline/outputs/loki
LOKI_OPTIONS = {
    "host", "port", "uri", "http_user", "http_passwd", "bearer_token", "header", "tenant_id",
    "tenant_id_key", "labels", "label_keys", "label_map_path", "structured_metadata",
    "structured_metadata_map_keys", "remove_keys", "drop_single_key", "line_format",
    "auto_kubernetes_labels", "compress",
}  # fmt: skip
# https://docs.fluentbit.io/manual/pipeline/parsers/configuring-parser
PARSER_OPTIONS = {
    "name", "format", "regex", "time_key", "time_format", "time_keep", "time_offset",
    "time_strict", "types", "decode_field", "decode_field_as", "skip_empty_values",
}  # fmt: skip

DOCUMENTED = {
    ("SERVICE", ""): SERVICE_OPTIONS,
    ("INPUT", "forward"): INPUT_OPTIONS | FORWARD_OPTIONS,
    ("FILTER", "rewrite_tag"): FILTER_OPTIONS | REWRITE_TAG_OPTIONS,
    ("FILTER", "parser"): FILTER_OPTIONS | PARSER_FILTER_OPTIONS,
    ("OUTPUT", "loki"): OUTPUT_OPTIONS | LOKI_OPTIONS,
    ("PARSER", ""): PARSER_OPTIONS,
}

CONFIG_FILES = [
    REPO / "fluent-bit.conf",
    REPO / "fluent-bit-parsers.conf",
    REPO / "compose" / "fluent-bit" / "fluent-bit.conf",
]


def _sections_by_file() -> list[tuple[Path, Section]]:
    found = []
    for path in CONFIG_FILES:
        for section in parse_classic(path, include=lambda _: Path("/dev/null")):
            found.append((path, section))
    return found


@pytest.mark.parametrize(
    ("path", "section"),
    _sections_by_file(),
    ids=lambda v: v.name if isinstance(v, Path) else f"{v.kind}:{v.name}",
)
def test_every_option_name_is_documented(path, section):
    plugin = "" if section.kind in {"SERVICE", "PARSER"} else section.name
    documented = DOCUMENTED.get((section.kind, plugin))
    assert documented is not None, f"{path.name}: no documented list for [{section.kind}] {plugin}"
    unknown = {key for key, _ in section.entries} - documented
    assert not unknown, f"{path.name} [{section.kind}] {plugin}: {sorted(unknown)}"


def test_the_parser_named_by_the_filter_is_defined():
    sections = _firelens_config()
    parsers = _pipeline(sections).parsers
    for section in sections:
        if section.name == "parser":
            assert set(section.get_all("parser")) <= set(parsers)
