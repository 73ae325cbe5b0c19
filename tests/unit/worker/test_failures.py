"""A failure's log fields: AWS's code and message, our own reason, or where a bug was raised;
never the message's own text."""

from botocore.exceptions import ClientError, EndpointConnectionError

from logger_app.aws import AwsPermanentError, AwsUnavailableError
from logger_app.events import MalformedEventError
from logger_app.worker.failures import PoisonEventError, error_fields, failure_fields


def client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "TransactWriteItems")


def unavailable(cause: BaseException) -> AwsUnavailableError:
    try:
        raise AwsUnavailableError("DynamoDB") from cause
    except AwsUnavailableError as error:
        return error


def test_a_refusal_says_awss_code_and_message() -> None:
    refusal = AwsPermanentError("SQS", "AccessDenied", "not allowed")

    assert error_fields(refusal) == {"error": "AccessDenied", "error_message": "not allowed"}


def test_an_outage_says_the_code_and_message_aws_answered_with() -> None:
    throttled = unavailable(client_error("ThrottlingException", "slow down " * 50))

    fields = error_fields(throttled)

    assert fields["error"] == "ThrottlingException"
    assert fields["error_message"] == ("slow down " * 50)[:300]


def test_an_unreachable_aws_says_botocores_exception_alone() -> None:
    unreachable = unavailable(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))

    assert error_fields(unreachable) == {"error": "EndpointConnectionError"}
    assert error_fields(AwsUnavailableError("SQS")) == {"error": "AwsUnavailableError"}


def test_our_own_reasons_are_given_as_they_are() -> None:
    assert failure_fields(PoisonEventError("unknown event type")) == {
        "error": "PoisonEventError",
        "reason": "unknown event type",
    }
    assert failure_fields(MalformedEventError("the body is not JSON")) == {
        "error": "MalformedEventError",
        "reason": "the body is not JSON",
    }


def test_a_bug_is_described_by_its_type_and_place_never_its_text() -> None:
    try:
        raise RuntimeError("quotes grace.hopper@example.com")
    except RuntimeError as error:
        line = error.__traceback__.tb_lineno if error.__traceback__ else 0
        fields = failure_fields(error)

    assert fields["error"] == "RuntimeError"
    assert "grace" not in str(fields)
    assert fields["error_at"].endswith(f":{line}")
