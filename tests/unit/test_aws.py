import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from logger_app.aws import (
    BACKGROUND_CONCURRENCY,
    Failure,
    classify,
    create_clients,
    create_long_poll_client,
    error_code,
)
from logger_app.settings import Settings


def client_error(code: str, status: int = 400, reasons: list[str] | None = None) -> ClientError:
    response: dict[str, object] = {
        "Error": {"Code": code, "Message": "why"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": reason} for reason in reasons]
    return ClientError(response, "TransactWriteItems")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (client_error("ProvisionedThroughputExceededException"), Failure.UNAVAILABLE),
        (client_error("ThrottlingException"), Failure.UNAVAILABLE),
        (client_error("AnythingElse", status=503), Failure.UNAVAILABLE),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), Failure.UNAVAILABLE),
        (client_error("AccessDeniedException"), Failure.PERMANENT),
        (client_error("ResourceNotFoundException"), Failure.PERMANENT),
        (client_error("ValidationException"), Failure.PERMANENT),
        (NoCredentialsError(), Failure.PERMANENT),
        (client_error("ConditionalCheckFailedException"), Failure.CONFLICT),
        # A cancelled transaction means what its items' reasons say.
        (
            client_error("TransactionCanceledException", reasons=["None", "ThrottlingError"]),
            Failure.UNAVAILABLE,
        ),
        (
            client_error(
                "TransactionCanceledException", reasons=["None", "ConditionalCheckFailed"]
            ),
            Failure.CONFLICT,
        ),
        (
            client_error("TransactionCanceledException", reasons=["ValidationError", "None"]),
            Failure.PERMANENT,
        ),
        (ValueError("bug"), Failure.PERMANENT),
    ],
    ids=lambda value: error_code(value) if isinstance(value, Exception) else value.value,
)
def test_one_classification_of_aws_errors(error: Exception, failure: Failure) -> None:
    assert classify(error) is failure


def test_thread_pool_and_connection_pool_are_sized_together() -> None:
    clients = create_clients(Settings(region="eu-west-1", aws_concurrency=17))

    background = clients.for_background()

    assert clients.limiter.total_tokens == 17
    assert background.limiter.total_tokens == BACKGROUND_CONCURRENCY
    assert background.limiter is not clients.limiter
    # A connection for every thread, the requests' and the background's.
    pool = 17 + BACKGROUND_CONCURRENCY
    assert clients.dynamodb.meta.config.max_pool_connections == pool
    assert clients.sqs.meta.config.max_pool_connections == pool
    assert clients.dynamodb.meta.config.retries["mode"] == "standard"
    assert clients.dynamodb.meta.region_name == "eu-west-1"


def test_only_the_long_poll_waits_longer_than_the_short_read_timeout() -> None:
    settings = Settings(region="eu-west-1")

    clients = create_clients(settings)
    long_poll = create_long_poll_client(settings)

    assert long_poll.meta.config.read_timeout == settings.worker_wait_seconds + 5
    assert clients.sqs.meta.config.read_timeout == settings.aws_read_timeout_seconds == 5
    assert clients.dynamodb.meta.config.read_timeout == 5
    assert long_poll.meta.config.connect_timeout == clients.sqs.meta.config.connect_timeout
    assert long_poll.meta.config.retries == clients.sqs.meta.config.retries
