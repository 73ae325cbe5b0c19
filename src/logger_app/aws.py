"""boto3 clients, created once per process, and the thread pool that runs their blocking calls."""

import functools
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread
import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from logger_app import metrics
from logger_app.settings import Settings, environment_variable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

T = TypeVar("T")

# Error codes that mean "try again later", not "your request is wrong".
UNAVAILABLE_ERROR_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "TransactionConflict",
        "TransactionConflictException",
        "TransactionInProgressException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestThrottled",
        "KMSThrottlingException",
    }
)
# What the domain code understands and answers itself: a condition it set did not hold.
CONFLICT_CODES = frozenset({"ConditionalCheckFailed", "ConditionalCheckFailedException"})
TRANSACTION_CANCELED = "TransactionCanceledException"

UNREACHABLE_ERRORS = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)


class Failure(Enum):
    """What an AWS error means for the caller."""

    UNAVAILABLE = "unavailable"  # throttling, 5xx, unreachable: the same call may succeed later
    PERMANENT = "permanent"  # access denied, missing resource, invalid request: it will not
    CONFLICT = "conflict"  # a condition the caller set did not hold: the domain decides


def error_code(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "")) or type(error).__name__
    return type(error).__name__


def cancellation_codes(error: ClientError) -> list[str]:
    """A cancelled transaction's reason per item, in item order ("None" where it held)."""
    reasons = error.response.get("CancellationReasons", [])
    return [str(reason.get("Code", "None")) for reason in reasons]


def classify(error: BaseException) -> Failure:
    """The one classification of AWS errors, for requests, the outbox, the worker and
    readiness alike."""
    if isinstance(error, UNREACHABLE_ERRORS):
        return Failure.UNAVAILABLE
    if isinstance(error, BotoCoreError):
        return Failure.PERMANENT  # e.g. no credentials, or a parameter botocore refuses
    if not isinstance(error, ClientError):
        return Failure.PERMANENT
    code = error_code(error)
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in UNAVAILABLE_ERROR_CODES or status >= 500:
        return Failure.UNAVAILABLE
    if code in CONFLICT_CODES:
        return Failure.CONFLICT
    if code == TRANSACTION_CANCELED:
        reasons = set(cancellation_codes(error)) - {"None"}
        if reasons & UNAVAILABLE_ERROR_CODES:
            return Failure.UNAVAILABLE
        if reasons and reasons <= CONFLICT_CODES:
            return Failure.CONFLICT
    return Failure.PERMANENT


class AwsUnavailableError(Exception):
    """An AWS dependency is throttling, failing or unreachable: the request may be retried."""

    def __init__(self, service: str) -> None:
        super().__init__(f"{service} is unavailable")
        self.service = service


class AwsPermanentError(Exception):
    """An AWS call that will fail again as it is (access denied, missing table, invalid
    request): a fault of this deployment, not of the client, and not worth a retry."""

    def __init__(self, service: str, code: str, message: str) -> None:
        super().__init__(f"{service} refused the call: {code}: {message}")
        self.service = service
        self.code = code
        self.message = message

    @classmethod
    def from_error(cls, service: str, error: BaseException) -> "AwsPermanentError":
        message = (
            str(error.response.get("Error", {}).get("Message", ""))
            if isinstance(error, ClientError)
            else str(error)
        )
        return cls(service, error_code(error), message[:300])


# Worker threads for the background's AWS calls (publishing, the outbox), apart from the
# requests': under load an event's publication does not queue behind the requests' writes.
BACKGROUND_CONCURRENCY = 8


@dataclass(frozen=True)
class AwsClients:
    dynamodb: "DynamoDBClient"
    sqs: "SQSClient"
    limiter: anyio.CapacityLimiter

    def for_background(self) -> "AwsClients":
        """The same clients, calling in the background's own worker threads."""
        return replace(self, limiter=anyio.CapacityLimiter(BACKGROUND_CONCURRENCY))

    async def call(self, service: str, operation: Callable[..., T], /, **kwargs: Any) -> T:
        """Run a blocking boto3 call in the worker threads; the event loop never waits on it.

        Errors come out classified: AwsUnavailableError, AwsPermanentError, or the ClientError
        itself for a conflict (a condition the caller set did not hold).

        The OpenTelemetry context travels with the call (anyio copies context variables into the
        thread), so botocore's client span is a child of the request's server span.
        """
        with measured_and_classified(service, operation):
            return await anyio.to_thread.run_sync(
                functools.partial(operation, **kwargs), limiter=self.limiter
            )


def call(service: str, operation: Callable[..., T], /, **kwargs: Any) -> T:
    """A blocking boto3 call from a thread of one's own (the worker's), measured and its errors
    classified exactly as ``AwsClients.call`` does for the API."""
    with measured_and_classified(service, operation):
        return operation(**kwargs)


@contextmanager
def measured_and_classified(service: str, operation: Callable[..., object]) -> Iterator[None]:
    """Records the call in the ``logger_app.aws.call.duration`` histogram, by outcome, and
    raises its error classified: AwsUnavailableError, AwsPermanentError, or the ClientError
    itself for a conflict (a condition the caller set did not hold)."""
    started = time.perf_counter()
    outcome = "ok"
    try:
        yield
    except (BotoCoreError, ClientError) as error:
        failure = classify(error)
        outcome = "error" if failure is Failure.PERMANENT else failure.value
        if failure is Failure.UNAVAILABLE:
            raise AwsUnavailableError(service) from error
        if failure is Failure.PERMANENT:
            raise AwsPermanentError.from_error(service, error) from error
        raise  # a conflict: the caller's own condition, for the domain to answer
    finally:
        metrics.aws_call_duration.record(
            time.perf_counter() - started,
            {"service": service, "operation": _operation_name(operation), "outcome": outcome},
        )


def _operation_name(operation: Callable[..., object]) -> str:
    """``transact_write_items`` -> ``TransactWriteItems``, as AWS and the span names say it."""
    return "".join(part.capitalize() for part in operation.__name__.split("_"))


def _config(settings: Settings, read_timeout: float, pool: int) -> Config:
    return Config(
        region_name=settings.region,
        connect_timeout=settings.aws_connect_timeout_seconds,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": settings.aws_max_attempts},
        max_pool_connections=pool,
    )


def create_clients(settings: Settings) -> AwsClients:
    config = _config(
        settings,
        settings.aws_read_timeout_seconds,
        pool=settings.aws_concurrency + BACKGROUND_CONCURRENCY,
    )
    session = boto3.session.Session()
    return AwsClients(
        dynamodb=session.client("dynamodb", config=config),
        sqs=session.client("sqs", config=config),
        limiter=anyio.CapacityLimiter(settings.aws_concurrency),
    )


def create_long_poll_client(settings: Settings) -> "SQSClient":
    """An SQS client for the worker's ReceiveMessage alone: its read timeout outlives the long
    poll (``worker_receive_read_timeout_seconds``), so no poll is abandoned while SQS may still
    hand it a message. Every other call keeps the short read timeout of ``create_clients``."""
    config = _config(settings, settings.worker_receive_read_timeout_seconds, pool=1)
    client: SQSClient = boto3.session.Session().client("sqs", config=config)
    return client


NO_REGION = (
    "logger-app: no AWS region: set {variables} (e.g. us-east-1), or a region in the AWS "
    "profile in use"
)
NO_CREDENTIALS = (
    "logger-app: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
    "AWS_PROFILE (on ECS the task role provides them; the local emulator accepts any)"
)


def _setup_problem(settings: Settings) -> str | None:
    """What keeps this process from calling AWS at all, as one line naming what is missing and
    how to set it: no region, or no credentials. None when both are there."""
    try:
        session = boto3.session.Session()
        if not (settings.region or session.region_name):
            return NO_REGION.format(variables=environment_variable("region"))
        if session.get_credentials() is None:
            return NO_CREDENTIALS
    except BotoCoreError as error:  # e.g. AWS_PROFILE names a profile that does not exist
        return f"logger-app: cannot read the AWS configuration: {error}"
    return None


def require_region_and_credentials(settings: Settings) -> None:
    """At start-up, before anything else: a process that could never call AWS stops at once
    with one line on stderr and exit status 1, rather than with a traceback on its first call or
    a retry loop that blames the network.

    It leaves with ``os._exit``: nothing has been done yet, so there is nothing to flush, and
    the OpenTelemetry SDK's exit handlers would spend seconds trying the collector, logging
    their failure after the line that matters."""
    if problem := _setup_problem(settings):
        print(problem, file=sys.stderr, flush=True)
        os._exit(1)
