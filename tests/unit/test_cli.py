from logger_app.cli import TELEMETRY_DEFAULTS, serve_command, telemetry_environment


def test_serves_one_worker_under_opentelemetry_instrument() -> None:
    command = serve_command("0.0.0.0", 8000)

    assert command[0].endswith("opentelemetry-instrument")
    assert command[command.index("--workers") + 1] == "1"
    assert "--proxy-headers" in command
    assert "logger_app.main:app" in command
    assert command[command.index("--port") + 1] == "8000"


def test_telemetry_defaults_suit_the_adot_sidecar() -> None:
    assert TELEMETRY_DEFAULTS["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://localhost:4317"
    assert TELEMETRY_DEFAULTS["OTEL_LOGS_EXPORTER"] == "none"
    assert TELEMETRY_DEFAULTS["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"] == "cumulative"
    assert "xray" in TELEMETRY_DEFAULTS["OTEL_PROPAGATORS"].split(",")
    # The dashboards and the e2e tests name the stable HTTP metrics (http_route, no host).
    assert TELEMETRY_DEFAULTS["OTEL_SEMCONV_STABILITY_OPT_IN"] == "http"


def test_environment_overrides_the_defaults() -> None:
    environment = telemetry_environment(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "PATH": "/bin"},
        OTEL_SERVICE_NAME="logger-app-worker",
    )

    assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector:4317"
    assert environment["OTEL_LOGS_EXPORTER"] == "none"
    assert environment["PATH"] == "/bin"
    assert environment["OTEL_SERVICE_NAME"] == "logger-app-worker"
