from pathlib import Path

import pytest

from logger_app.cli import (
    TELEMETRY_DEFAULTS,
    main,
    serve_command,
    telemetry_environment,
    trusted_proxies,
)


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


def test_forwarded_addresses_are_believed_only_from_the_trusted_proxies() -> None:
    command = serve_command("0.0.0.0", 8000, trusted_proxies({}))
    assert command[command.index("--forwarded-allow-ips") + 1] == "127.0.0.1,::1"
    vpc = trusted_proxies({"LOGGER_APP_TRUSTED_PROXIES": " 10.40.0.0/16 , 10.41.0.7"})
    assert vpc == "10.40.0.0/16,10.41.0.7"
    assert trusted_proxies({"LOGGER_APP_TRUSTED_PROXIES": ""}) == ""  # no proxy at all


@pytest.mark.parametrize("value", ["*", "10.0.0.0/33", "10.40.0.1/16", "load-balancer"])
def test_a_trusted_proxy_that_is_not_an_address_or_network_stops_the_start(value: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        trusted_proxies({"LOGGER_APP_TRUSTED_PROXIES": value})
    assert f"LOGGER_APP_TRUSTED_PROXIES: {value!r} is not an IP address or network" in str(
        stopped.value
    )


@pytest.mark.parametrize("lifetime", ["0", "-5"])
def test_refuses_a_lifetime_that_is_already_over(
    lifetime: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(
            [
                "token",
                "--scope",
                "records:read",
                "--issuer-dir",
                str(tmp_path),
                "--lifetime",
                lifetime,
            ]
        )

    assert exited.value.code == 2
    assert "must be more than 0 seconds" in capsys.readouterr().err
    assert not (tmp_path / "private-key.pem").exists()
