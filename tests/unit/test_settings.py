import pytest
from pydantic import ValidationError

from logger_app.settings import Settings, configuration_error


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
