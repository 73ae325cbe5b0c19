"""The AWS emulator: moto's server as a process, its reset, the environment that points boto3
at it, and `logger-app bootstrap` against it."""

import os
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from harness.processes import BIN, free_port, stop_process, wait_for_http

AWS_TEST_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",  # what boto3 itself reads
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",  # the emulator accepts anything
}


def apply_aws_test_env(endpoint: str) -> None:
    os.environ.update(AWS_TEST_ENV, AWS_ENDPOINT_URL=endpoint)


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server mode in its own process, on loopback; yields its endpoint URL.

    It is stopped with escalation: moto 5's TransactWriteItems deep-copies every table it
    touches (its rollback copy), and each copy stays referenced by moto's model instance
    tracker, so after a thousand sign-ups the server holds ~850 MB and, on SIGTERM, spends
    over 10 s freeing it before it exits (an idle one exits at once)."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(endpoint + "/moto-api/")
        yield endpoint
    finally:
        stop_process(process)


def reset_moto(endpoint: str) -> None:
    request = urllib.request.Request(endpoint + "/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=5):
        pass


def bootstrap(aws_endpoint: str, sqs_endpoint: str | None = None) -> None:
    """`logger-app bootstrap` against the emulator (SQS on its own one when given)."""
    env = {**os.environ, **AWS_TEST_ENV, "AWS_ENDPOINT_URL": aws_endpoint}
    if sqs_endpoint is not None:
        env["AWS_ENDPOINT_URL_SQS"] = sqs_endpoint
    subprocess.run([str(BIN / "logger-app"), "bootstrap"], env=env, check=True, timeout=60)
