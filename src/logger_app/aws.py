"""boto3 clients, created once per process, and the thread pool that runs their blocking calls."""

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread
import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from logger_app import metrics
from logger_app.settings import Settings

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

UNREACHABLE_ERRORS = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)


class AwsUnavailableError(Exception):
    """An AWS dependency is throttling, failing or unreachable: the request may be retried."""

    def __init__(self, service: str) -> None:
        super().__init__(f"{service} is unavailable")
        self.service = service


def is_unavailable(error: BaseException) -> bool:
    if isinstance(error, UNREACHABLE_ERRORS):
        return True
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in UNAVAILABLE_ERROR_CODES or status >= 500
    return False


@dataclass(frozen=True)
class AwsClients:
    dynamodb: "DynamoDBClient"
    sqs: "SQSClient"
    limiter: anyio.CapacityLimiter

    async def call(self, service: str, operation: Callable[..., T], /, **kwargs: Any) -> T:
        """Run a blocking boto3 call in the worker threads; the event loop never waits on it.

        The OpenTelemetry context travels with the call (anyio copies context variables into the
        thread), so botocore's client span is a child of the request's server span.
        """
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await anyio.to_thread.run_sync(
                functools.partial(operation, **kwargs), limiter=self.limiter
            )
            outcome = "ok"
            return result
        except Exception as error:
            if is_unavailable(error):
                outcome = "unavailable"
                raise AwsUnavailableError(service) from error
            raise
        finally:
            metrics.aws_call_duration.record(
                time.perf_counter() - started,
                {"service": service, "operation": _operation_name(operation), "outcome": outcome},
            )


def _operation_name(operation: Callable[..., object]) -> str:
    """``transact_write_items`` -> ``TransactWriteItems``, as AWS and the span names say it."""
    return "".join(part.capitalize() for part in operation.__name__.split("_"))


def create_clients(settings: Settings) -> AwsClients:
    config = Config(
        region_name=settings.region,
        connect_timeout=settings.aws_connect_timeout_seconds,
        read_timeout=settings.aws_read_timeout_seconds,
        retries={"mode": "standard", "total_max_attempts": settings.aws_max_attempts},
        max_pool_connections=settings.aws_concurrency,
    )
    session = boto3.session.Session()
    return AwsClients(
        dynamodb=session.client("dynamodb", config=config),
        sqs=session.client("sqs", config=config),
        limiter=anyio.CapacityLimiter(settings.aws_concurrency),
    )
