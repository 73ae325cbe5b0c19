"""Configuration from the environment (prefix ``LOGGER_APP_``).

boto3 reads the standard ``AWS_REGION``, ``AWS_ENDPOINT_URL`` and credentials variables itself.
"""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, Self, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOGGER_APP_", frozen=True, validate_by_name=True)

    records_table: str = "logger-app-records"
    patients_table: str = "logger-app-patients"
    outbox_table: str = "logger-app-outbox"
    queue_name: str = "logger-app-events"
    queue_url: str | None = Field(
        default=None, description="Resolved from queue_name with GetQueueUrl when unset."
    )
    region: str | None = Field(
        default=None,
        validation_alias=AliasChoices("LOGGER_APP_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
        description="LOGGER_APP_REGION, else the standard AWS_REGION / AWS_DEFAULT_REGION.",
    )
    environment: str = "local"
    log_level: LogLevel = "INFO"
    max_body_bytes: int = Field(default=65_536, gt=0)
    # One number sizes both the requests' share of the threads running boto3 calls and
    # botocore's connection pool (which also counts the background's threads,
    # aws.BACKGROUND_CONCURRENCY), so no thread ever waits for a connection while holding one.
    aws_concurrency: int = Field(default=32, gt=0, le=256)
    aws_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    aws_read_timeout_seconds: float = Field(default=5.0, gt=0)
    aws_max_attempts: int = Field(default=3, ge=1)
    retry_after_seconds: int = Field(default=2, ge=1)
    # Pending events are published again every interval once older than the age (younger
    # ones belong to requests still publishing their own), and once more at shutdown.
    outbox_drain_interval_seconds: float = Field(default=5.0, gt=0)
    outbox_min_age_seconds: float = Field(default=10.0, ge=0)
    shutdown_drain_seconds: float = Field(default=5.0, ge=0)
    # A committed event waits this long for others to share its SendMessageBatch (or until
    # ten are waiting): a few milliseconds of delay for a tenth of the calls under load.
    publish_linger_ms: int = Field(default=10, ge=0, le=1_000)
    # The event worker (``logger-app worker``).
    max_receive_count: int = Field(default=5, ge=1, description="Receives before the DLQ.")
    worker_wait_seconds: int = Field(default=20, ge=0, le=20)
    # A long poll holds its connection open for up to the wait. A read timeout shorter than that
    # abandons the poll: botocore gives up and asks again while SQS still hands the abandoned
    # poll the next message, which then stays invisible for the visibility timeout and counts a
    # receive without the worker ever seeing it.
    worker_receive_read_timeout_seconds: float = Field(
        default=None,
        validate_default=True,
        description="ReceiveMessage's read timeout; the wait plus the AWS read timeout when unset.",
    )
    worker_visibility_timeout_seconds: int = Field(default=30, ge=1)
    worker_retry_delay_seconds: int = Field(default=5, ge=0)
    # Bearer tokens (the API; the worker needs none of these). The API refuses to start
    # without an issuer (ApiSettings): LOGGER_APP_AUTH_ISSUER, or LOGGER_APP_LOCAL_ISSUER_DIR
    # locally.
    auth_issuer: str | None = Field(default=None, description="The tokens' `iss`, exactly.")
    auth_jwks_url: str | None = Field(
        default=None, description="The issuer's JWKS; <issuer>/.well-known/jwks.json when unset."
    )
    # Cognito access tokens carry the app client's id in `client_id` and have no `aud`.
    auth_client_ids: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(), description="Comma-separated client ids whose tokens are accepted."
    )
    auth_audience: str | None = Field(default=None, description="The `aud` tokens must carry.")
    # `logger-app verify`'s client: its requests are synthetic, never counted as a patient's.
    synthetic_client_ids: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(),
        description="Comma-separated client ids whose requests are synthetic (logger-app verify).",
    )
    # Cognito names a resource server's scopes <identifier>/<scope> (logger-app/records:read):
    # with a prefix set, only scopes carrying it count, and without it.
    auth_scope_prefix: str = Field(default="", description="e.g. logger-app/ on Cognito.")
    auth_leeway_seconds: int = Field(default=30, ge=0, le=300)
    # A token whose exp - iat is longer is refused (one valid until the year 9999 would be a
    # credential for good). Cognito issues access tokens for at most a day.
    auth_max_token_lifetime_seconds: int = Field(default=86_400, gt=0)
    # A token naming a key we do not have refetches the JWKS, at most once per this interval:
    # tokens with made-up key ids cannot make the service hammer the issuer.
    auth_jwks_min_refetch_seconds: float = Field(default=30.0, ge=0)
    # Keys are fetched again once this old, so a key the issuer withdrew (rotated out, or
    # compromised) stops being accepted within this time, not at the next restart.
    auth_jwks_max_age_seconds: float = Field(default=3600.0, gt=0)
    auth_jwks_timeout_seconds: float = Field(default=3.0, gt=0)
    # Traces (the API): every failed request's trace is exported, successful ones up to this
    # many a second (bursts of ten seconds' worth); `inf` exports every trace. See
    # logger_app/trace_sampling.py and BENCHMARKS.md (telemetry overhead).
    traces_successful_per_second: float = Field(default=10.0, ge=0)
    # Local development only (`make run`): trust the key pair in this directory as the issuer.
    local_issuer_dir: Path | None = None

    @field_validator("auth_client_ids", "synthetic_client_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("worker_receive_read_timeout_seconds", mode="before")
    @classmethod
    def _wait_plus_read_timeout(cls, value: object, info: ValidationInfo) -> object:
        if value is not None:
            return value
        # Either may be missing here only because it is invalid (reported on its own).
        fields = cls.model_fields
        wait = info.data.get("worker_wait_seconds", fields["worker_wait_seconds"].default)
        read = info.data.get("aws_read_timeout_seconds", fields["aws_read_timeout_seconds"].default)
        return wait + read

    @field_validator("worker_receive_read_timeout_seconds")
    @classmethod
    def _outlives_the_wait(cls, value: float, info: ValidationInfo) -> float:
        wait = info.data.get("worker_wait_seconds")
        if wait is not None and value <= wait:
            raise ValueError(
                f"must be longer than LOGGER_APP_WORKER_WAIT_SECONDS ({wait}): a long poll that "
                "outlives its read timeout is abandoned, and SQS still hands it a message"
            )
        return value

    @property
    def jwks_url(self) -> str | None:
        if self.auth_jwks_url:
            return self.auth_jwks_url
        if self.auth_issuer:
            return self.auth_issuer.rstrip("/") + "/.well-known/jwks.json"
        return None

    @property
    def dead_letter_queue_name(self) -> str:
        return f"{self.queue_name}-dlq"


class ApiSettings(Settings):
    """The settings the API starts with: it never runs without checking tokens, so an issuer
    it cannot check them against is refused here (the worker and bootstrap need none)."""

    @model_validator(mode="after")
    def _tokens_can_be_checked(self) -> Self:
        if problems := _token_setting_problems(self):
            # One error, a line a problem, each naming its variables (configuration_error).
            raise PydanticCustomError(
                "auth_configuration", "{problems}", {"problems": "\n".join(problems)}
            )
        return self


def _token_setting_problems(settings: Settings) -> list[str]:
    """What stops the API from starting, each problem naming the variables to set."""
    if settings.local_issuer_dir is not None:
        if settings.auth_issuer:
            return ["LOGGER_APP_LOCAL_ISSUER_DIR, LOGGER_APP_AUTH_ISSUER: set one, not both"]
        return []
    if not settings.auth_issuer:
        return [
            "LOGGER_APP_AUTH_ISSUER: required: the issuer of the access tokens the API accepts "
            "(e.g. https://cognito-idp.<region>.amazonaws.com/<user pool id>); for local "
            "development set LOGGER_APP_LOCAL_ISSUER_DIR instead (make run does)"
        ]
    problems = []
    if not settings.auth_client_ids and not settings.auth_audience:
        problems.append(
            "LOGGER_APP_AUTH_CLIENT_IDS or LOGGER_APP_AUTH_AUDIENCE: at least one is required, "
            "or any client of the issuer could call the API"
        )
    jwks_url = settings.jwks_url or ""
    if urlsplit(jwks_url).scheme != "https":
        source = "LOGGER_APP_AUTH_JWKS_URL" if settings.auth_jwks_url else "LOGGER_APP_AUTH_ISSUER"
        problems.append(
            f"{source}: the issuer's keys ({jwks_url}) must be fetched over https: they decide "
            "whose tokens are accepted"
        )
    return problems


LoadedSettings = TypeVar("LoadedSettings", bound=Settings)


def _loaded(settings_class: type[LoadedSettings]) -> LoadedSettings:
    try:
        return settings_class()
    except ValidationError as error:
        raise SystemExit(configuration_error(error)) from None


@lru_cache
def get_settings() -> Settings:
    """The settings, or the process stops saying which environment variable is wrong."""
    return _loaded(Settings)


@lru_cache
def get_api_settings() -> ApiSettings:
    """The API's settings, or the process stops saying which environment variable is wrong."""
    return _loaded(ApiSettings)


def configuration_error(error: ValidationError) -> str:
    lines = ["logger-app: invalid configuration:"]
    for problem in error.errors():
        if not problem["loc"]:  # the settings as a whole (ApiSettings): it names its variables
            lines.extend(f"  {line}" for line in problem["msg"].splitlines())
            continue
        field = str(problem["loc"][0])
        lines.append(f"  {environment_variable(field)}: {problem['msg']}")
    return "\n".join(lines)


def environment_variable(field: str) -> str:
    """Where a setting is read from: its alias choices, else the prefixed field name."""
    info = Settings.model_fields.get(field)
    if info is not None and isinstance(info.validation_alias, AliasChoices):
        return " or ".join(str(choice) for choice in info.validation_alias.choices)
    return "LOGGER_APP_" + field.upper()
