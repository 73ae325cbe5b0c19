from botocore.exceptions import ClientError, EndpointConnectionError

from logger_app.aws import create_clients, is_unavailable
from logger_app.settings import Settings


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": ""}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutItem",
    )


def test_throttling_outages_and_unreachable_are_unavailable() -> None:
    assert is_unavailable(client_error("ProvisionedThroughputExceededException"))
    assert is_unavailable(client_error("ThrottlingException"))
    assert is_unavailable(client_error("AnythingElse", status=503))
    assert is_unavailable(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))


def test_request_errors_are_not_unavailable() -> None:
    assert not is_unavailable(client_error("ValidationException"))
    assert not is_unavailable(client_error("ConditionalCheckFailedException"))
    assert not is_unavailable(ValueError("bug"))


def test_thread_pool_and_connection_pool_are_sized_together() -> None:
    clients = create_clients(Settings(region="eu-west-1", aws_concurrency=17))

    assert clients.limiter.total_tokens == 17
    assert clients.dynamodb.meta.config.max_pool_connections == 17
    assert clients.sqs.meta.config.max_pool_connections == 17
    assert clients.dynamodb.meta.config.retries["mode"] == "standard"
    assert clients.dynamodb.meta.region_name == "eu-west-1"
