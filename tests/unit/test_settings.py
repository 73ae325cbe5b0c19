from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from logger_app.settings import ApiSettings, Settings, configuration_error, get_api_settings


def test_defaults_are_usable_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "LOGGER_APP_REGION"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()

    assert settings.records_table == "logger-app-records"
    assert settings.max_body_bytes == 65_536
    assert settings.queue_url is None
    assert settings.dead_letter_queue_name == "logger-app-events-dlq"
    assert settings.region is None


def test_environment_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGGER_APP_RECORDS_TABLE", "prod-records")
    monkeypatch.setenv("LOGGER_APP_MAX_BODY_BYTES", "1024")
    monkeypatch.setenv("LOGGER_APP_LOG_LEVEL", "WARNING")

    settings = Settings()

    assert (settings.records_table, settings.max_body_bytes, settings.log_level) == (
        "prod-records",
        1024,
        "WARNING",
    )


def test_region_falls_back_to_the_standard_aws_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGGER_APP_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert Settings().region == "eu-central-1"
    monkeypatch.setenv("LOGGER_APP_REGION", "eu-west-3")
    assert Settings().region == "eu-west-3"


@pytest.mark.parametrize(
    ("name", "value"),
    [("LOGGER_APP_MAX_BODY_BYTES", "0"), ("LOGGER_APP_LOG_LEVEL", "LOUD")],
)
def test_bad_values_fail_at_start_up(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("LOGGER_APP_").lower()):
        Settings()


def test_the_long_polls_read_timeout_outlives_its_wait_by_the_aws_read_timeout() -> None:
    assert Settings().worker_receive_read_timeout_seconds == 20 + 5
    settings = Settings(worker_wait_seconds=10, aws_read_timeout_seconds=2)
    assert settings.worker_receive_read_timeout_seconds == 12
    assert (
        Settings(worker_receive_read_timeout_seconds=40).worker_receive_read_timeout_seconds == 40
    )


@pytest.mark.parametrize(
    ("wait", "read_timeout"), [("20", "20"), ("20", "5"), ("10", "9.5"), ("1", "0.5")]
)
def test_a_read_timeout_that_would_abandon_long_polls_is_refused(
    monkeypatch: pytest.MonkeyPatch, wait: str, read_timeout: str
) -> None:
    monkeypatch.setenv("LOGGER_APP_WORKER_WAIT_SECONDS", wait)
    monkeypatch.setenv("LOGGER_APP_WORKER_RECEIVE_READ_TIMEOUT_SECONDS", read_timeout)

    with pytest.raises(ValidationError) as refused:
        Settings()

    assert configuration_error(refused.value).splitlines()[1:] == [
        "  LOGGER_APP_WORKER_RECEIVE_READ_TIMEOUT_SECONDS: Value error, must be longer than "
        f"LOGGER_APP_WORKER_WAIT_SECONDS ({wait}): a long poll that outlives its read timeout "
        "is abandoned, and SQS still hands it a message"
    ]


def _refusals(**settings: Any) -> list[str]:
    """What the API refuses to start with, one problem a line, as the process says it."""
    try:
        ApiSettings(**settings)
    except ValidationError as error:
        return [line.removeprefix("  ") for line in configuration_error(error).splitlines()[1:]]
    return []


def test_the_api_needs_an_issuer_and_a_client_or_audience() -> None:
    assert "LOGGER_APP_AUTH_ISSUER: required" in _refusals()[0]
    cognito = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
    assert "LOGGER_APP_AUTH_CLIENT_IDS or" in _refusals(auth_issuer=cognito)[0]
    assert _refusals(auth_issuer=cognito, auth_client_ids="a,b") == []
    ok = ApiSettings(auth_issuer=cognito, auth_client_ids="a,b")
    assert ok.auth_client_ids == {"a", "b"}
    assert ok.jwks_url == cognito + "/.well-known/jwks.json"
    assert "not both" in _refusals(auth_issuer=cognito, local_issuer_dir=Path("x"))[0]


def test_the_issuers_keys_come_over_https_only() -> None:
    def errors(**settings: str) -> list[str]:
        return _refusals(auth_client_ids="a", **settings)

    assert errors(auth_issuer="https://issuer.example") == []
    [plain] = errors(auth_issuer="http://issuer.example")
    assert plain.startswith("LOGGER_APP_AUTH_ISSUER: the issuer's keys")
    assert "must be fetched over https" in plain
    [jwks] = errors(auth_issuer="https://issuer.example", auth_jwks_url="http://keys.example/")
    assert jwks.startswith("LOGGER_APP_AUTH_JWKS_URL: the issuer's keys (http://keys.example/)")
    assert errors(auth_issuer="https://a.example", auth_jwks_url="https://b.example/k") == []


def test_the_api_stops_at_start_up_naming_each_token_setting_to_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the API needs an issuer: the worker's settings load without one."""
    for name in ("LOCAL_ISSUER_DIR", "AUTH_JWKS_URL", "AUTH_CLIENT_IDS", "AUTH_AUDIENCE"):
        monkeypatch.delenv(f"LOGGER_APP_{name}", raising=False)
    monkeypatch.setenv("LOGGER_APP_AUTH_ISSUER", "http://issuer.example")
    assert Settings().auth_issuer == "http://issuer.example"

    with pytest.raises(SystemExit) as stopped:
        get_api_settings()

    assert stopped.value.code == "\n".join(
        [
            "logger-app: invalid configuration:",
            "  LOGGER_APP_AUTH_CLIENT_IDS or LOGGER_APP_AUTH_AUDIENCE: at least one is required, "
            "or any client of the issuer could call the API",
            "  LOGGER_APP_AUTH_ISSUER: the issuer's keys "
            "(http://issuer.example/.well-known/jwks.json) must be fetched over https: they "
            "decide whose tokens are accepted",
        ]
    )
