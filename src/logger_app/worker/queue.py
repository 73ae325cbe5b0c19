"""The event queue as the worker consumes it: receive (long polling), delete, give back, keep
a batch invisible while it is worked on (the heartbeat thread), and the queue's own receive
limit and depths.

The receive long-polls on a client of its own whose read timeout outlives the wait
(``Settings.worker_receive_read_timeout_seconds``): a poll the client gave up on would still be
handed a message by SQS, which would then count a receive nobody saw. Every call goes through
``aws.call`` (the error classification and the call-duration histogram); a failure to delete,
give back or extend is logged and left to the visibility timeout, never raised.
"""

import json
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from logger_app import metrics
from logger_app.aws import call
from logger_app.settings import Settings
from logger_app.tracing import untraced
from logger_app.worker.failures import AWS_ERRORS, error_fields

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

# One logger for the whole worker: its lines say "logger_app.worker".
logger = logging.getLogger(__package__)

RECEIVE_LIMIT = 10  # ReceiveMessage's most messages per call


class EventQueue:
    def __init__(
        self,
        sqs: "SQSClient",
        long_poll: "SQSClient",
        settings: Settings,
        queue_url: str | None = None,
    ) -> None:
        """``long_poll`` receives; ``sqs`` (short read timeout) makes every other call."""
        self._sqs = sqs
        self._long_poll = long_poll
        self._settings = settings
        self._queue_url = queue_url or settings.queue_url
        self._redrive_policy: dict[str, Any] | None = None
        self._dead_letter_url: str | None = None
        # What the worker last read from SQS, by queue (reading the gauge never calls AWS).
        self.depths: dict[str, int] = {}

    @property
    def queue_url(self) -> str:
        if self._queue_url is None:
            self._queue_url = call(
                "SQS", self._sqs.get_queue_url, QueueName=self._settings.queue_name
            )["QueueUrl"]
        return self._queue_url

    @property
    def redrive_policy(self) -> dict[str, Any]:
        """The queue's own redrive policy ({} without one), so local and AWS agree."""
        if self._redrive_policy is None:
            attributes = call(
                "SQS",
                self._sqs.get_queue_attributes,
                QueueUrl=self.queue_url,
                AttributeNames=["RedrivePolicy"],
            )["Attributes"]
            self._redrive_policy = json.loads(attributes.get("RedrivePolicy", "{}"))
        return self._redrive_policy

    @property
    def receive_limit(self) -> int | None:
        limit = self.redrive_policy.get("maxReceiveCount")
        return int(limit) if limit is not None else None

    def receive_limit_or_none(self) -> int | None:
        """The queue's receive limit; None if it cannot be read now (the failure then counts
        as failed, not dead-lettered, and the next one asks again)."""
        try:
            return self.receive_limit
        except AWS_ERRORS as error:
            logger.warning(
                "could not read the queue's redrive policy",
                extra={"event": "worker.policy_failed", **error_fields(error)},
            )
            return None

    def observe_depth(self) -> None:
        """Report the depths ``read_depths`` last found as a gauge (from the worker's main)."""
        metrics.observe(
            "logger_app.queue.depth",
            "{message}",
            "Messages waiting in the event queue and in its dead-letter queue "
            "(ApproximateNumberOfMessages), read by the worker every minute.",
            lambda: [(depth, {"queue": queue}) for queue, depth in self.depths.items()],
        )

    def read_depths(self) -> None:
        """The event queue's and the dead-letter queue's depth, for the gauge. A failure is
        logged and leaves the last values: it must never stop the consuming."""
        try:
            self._read_depths()
        except AWS_ERRORS as error:
            logger.warning(
                "could not read the queue depths",
                extra={"event": "worker.depth_failed", **error_fields(error)},
            )

    def _read_depths(self) -> None:
        queues = {"events": self.queue_url}
        target = self.redrive_policy.get("deadLetterTargetArn")
        if target and self._dead_letter_url is None:
            name = str(target).rsplit(":", 1)[-1]
            self._dead_letter_url = call("SQS", self._sqs.get_queue_url, QueueName=name)["QueueUrl"]
        if self._dead_letter_url:
            queues["dead_letter"] = self._dead_letter_url
        with untraced():
            for queue, url in queues.items():
                attributes = call(
                    "SQS",
                    self._sqs.get_queue_attributes,
                    QueueUrl=url,
                    AttributeNames=["ApproximateNumberOfMessages"],
                )["Attributes"]
                self.depths[queue] = int(attributes["ApproximateNumberOfMessages"])

    def receive(self) -> list["MessageTypeDef"]:
        """One batch, long polling; AWS's errors raise, classified."""
        with untraced():
            response = call(
                "SQS",
                self._long_poll.receive_message,
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=RECEIVE_LIMIT,
                WaitTimeSeconds=self._settings.worker_wait_seconds,
                VisibilityTimeout=self._settings.worker_visibility_timeout_seconds,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
        return response.get("Messages", [])

    def delete(self, message: "MessageTypeDef", fields: Mapping[str, object]) -> None:
        try:
            call(
                "SQS",
                self._sqs.delete_message,
                QueueUrl=self.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
            )
        except AWS_ERRORS as error:
            # Applied already: the message comes back and is recognised as a duplicate.
            logger.warning(
                "event processed but not deleted from the queue",
                extra={"event": "worker.delete_failed", **fields, **error_fields(error)},
            )

    def release(self, messages: list["MessageTypeDef"]) -> None:
        """Give back what was not handled, at once, for whoever polls next."""
        try:
            self._change_visibility(messages, 0)
        except AWS_ERRORS as error:
            logger.warning(
                "could not give the batch back; it returns after its visibility timeout",
                extra={"event": "worker.release_failed", **error_fields(error)},
            )

    def retry_later(self, message: "MessageTypeDef") -> None:
        """Put a failed message back on the queue after the retry delay."""
        try:
            call(
                "SQS",
                self._sqs.change_message_visibility,
                QueueUrl=self.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=self._settings.worker_retry_delay_seconds,
            )
        except AWS_ERRORS as error:
            logger.warning(
                "failed event returns after its visibility timeout instead",
                extra={"event": "worker.release_failed", **error_fields(error)},
            )

    @contextmanager
    def kept_invisible(self, in_hand: list["MessageTypeDef"]) -> Iterator[None]:
        """While a batch is worked on, keep the messages still in hand invisible to other
        consumers (not those handled already: a failed one returns after its retry delay)."""
        if not in_hand:
            yield
            return
        done = threading.Event()
        timeout = self._settings.worker_visibility_timeout_seconds

        def heartbeat() -> None:
            while not done.wait(timeout / 2):
                messages = list(in_hand)
                if not messages:
                    continue
                try:
                    with untraced():
                        self._change_visibility(messages, timeout)
                except AWS_ERRORS as error:
                    logger.warning(
                        "could not extend visibility",
                        extra={"event": "worker.heartbeat_failed", **error_fields(error)},
                    )

        thread = threading.Thread(target=heartbeat, name="visibility-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def _change_visibility(self, messages: list["MessageTypeDef"], timeout: int) -> None:
        call(
            "SQS",
            self._sqs.change_message_visibility_batch,
            QueueUrl=self.queue_url,
            Entries=[
                {
                    "Id": str(index),
                    "ReceiptHandle": message["ReceiptHandle"],
                    "VisibilityTimeout": timeout,
                }
                for index, message in enumerate(messages)
            ],
        )
