import json
import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import format_span_id, format_trace_id

from logger_app.logs import configure_logging
from logger_app.settings import Settings


def read(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_one_json_object_per_line_with_the_contract_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(Settings(environment="staging"))

    logging.getLogger("logger_app.test").info(
        "patient signed up", extra={"event": "signup.created", "patient_id": "p-1"}
    )

    [line] = read(capsys)
    assert list(line)[:7] == [
        "time", "level", "logger", "message", "event", "service", "environment",
    ]  # fmt: skip
    assert line["level"] == "INFO"
    assert line["event"] == "signup.created"
    assert line["environment"] == "staging"
    assert line["patient_id"] == "p-1"
    assert line["trace_id"] == line["span_id"] == ""
    assert str(line["time"]).endswith("Z")


def test_lines_carry_the_active_span(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings())
    tracer = TracerProvider().get_tracer("test")

    with tracer.start_as_current_span("request") as span:
        logging.getLogger("logger_app.test").warning("inside")

    [line] = read(capsys)
    assert line["trace_id"] == format_trace_id(span.get_span_context().trace_id)
    assert line["span_id"] == format_span_id(span.get_span_context().span_id)


def test_level_filters_and_uvicorn_logs_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(log_level="WARNING"))

    logging.getLogger("logger_app.test").info("hidden")
    logging.getLogger("uvicorn.error").warning("shown", extra={"color_message": "\x1b[1mshown"})
    logging.getLogger("uvicorn.access").warning("never: access lines carry client addresses")

    [line] = read(capsys)
    assert line["logger"] == "uvicorn.error"
    assert "color_message" not in line


def test_exceptions_are_kept_in_the_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings())
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("logger_app.test").exception("failed")

    [line] = read(capsys)
    assert "RuntimeError: boom" in str(line["exc_info"])


def test_the_service_is_the_processs_otel_service_name(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    configure_logging(Settings())
    logging.getLogger("logger_app.test").info("from the API")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "logger-app-worker")  # as `logger-app worker` sets
    configure_logging(Settings())
    logging.getLogger("logger_app.test").info("from the worker")

    assert [line["service"] for line in read(capsys)] == ["logger-app", "logger-app-worker"]
