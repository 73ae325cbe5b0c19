"""``logger-app worker``: consumes the event queue.

Each event is handled once: the effect and a "processed" marker keyed by the event id are one
DynamoDB transaction, so a repeated delivery (SQS is at-least-once; the outbox may publish an
event twice) changes nothing. An event that cannot be handled (it is malformed, refers to
something missing, or AWS refuses the call) returns to the queue after a delay and reaches the
dead-letter queue after the queue's own ``maxReceiveCount`` receives (read from its redrive
policy). While DynamoDB is unavailable the worker keeps its batch and retries, backing off, and
receives nothing: transient throttling costs no receives, so it dead-letters no valid event.
The consumer span continues the trace of the request that published the event.
"""

import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from logger_app import metrics
from logger_app.aws import AwsPermanentError, Failure, classify, create_clients, error_code
from logger_app.clock import utc_now
from logger_app.logs import configure_logging
from logger_app.settings import Settings, get_settings
from logger_app.tracing import untraced

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

logger = logging.getLogger(__name__)
tracer = trace.get_tracer("logger_app.worker")

PROCESSED_MARKER_TTL_SECONDS = 14 * 24 * 3600  # longer than SQS keeps a message
MAX_BACKOFF_SECONDS = 60.0
QUEUE_DEPTH_INTERVAL_SECONDS = 60.0

# What the worker last read from SQS (reading the gauge never calls AWS).
QUEUE_DEPTH: dict[str, int] = {}
metrics.observe(
    "logger_app.queue.depth",
    "{message}",
    "Messages waiting in the event queue and in its dead-letter queue "
    "(ApproximateNumberOfMessages), read by the worker every minute.",
    lambda: [(depth, {"queue": queue}) for queue, depth in QUEUE_DEPTH.items()],
)


class PoisonEventError(Exception):
    """The event can never be handled as it is (unknown type, missing patient, bad body)."""


class StoppedError(Exception):
    """The worker was asked to stop while it waited for DynamoDB; the batch goes back."""


Effect = Callable[[Mapping[str, str]], list["TransactWriteItemTypeDef"]]


class Worker:
    def __init__(self, settings: Settings, queue_url: str | None = None) -> None:
        clients = create_clients(settings)
        self._dynamodb: DynamoDBClient = clients.dynamodb
        self._sqs: SQSClient = clients.sqs
        self._settings = settings
        self._queue_url = queue_url or settings.queue_url
        self._redrive_policy: dict[str, Any] | None = None
        self._dead_letter_url: str | None = None
        self._stop = threading.Event()
        self._effects: dict[str, Effect] = {
            "patient.signed_up": self._welcome_patient,
            "record.created": self._count_doctor_interaction,
        }

    @property
    def queue_url(self) -> str:
        if self._queue_url is None:
            self._queue_url = self._sqs.get_queue_url(QueueName=self._settings.queue_name)[
                "QueueUrl"
            ]
        return self._queue_url

    @property
    def redrive_policy(self) -> dict[str, Any]:
        """The queue's own redrive policy ({} without one), so local and AWS agree."""
        if self._redrive_policy is None:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["RedrivePolicy"]
            )["Attributes"]
            self._redrive_policy = json.loads(attributes.get("RedrivePolicy", "{}"))
        return self._redrive_policy

    @property
    def receive_limit(self) -> int | None:
        limit = self.redrive_policy.get("maxReceiveCount")
        return int(limit) if limit is not None else None

    def read_queue_depths(self) -> None:
        """The event queue's and the dead-letter queue's depth, for the gauge. A failure is
        logged and leaves the last values: it must never stop the consuming."""
        try:
            self._read_queue_depths()
        except (BotoCoreError, ClientError) as error:
            logger.warning(
                "could not read the queue depths",
                extra={"event": "worker.depth_failed", **_error_fields(error)},
            )

    def _read_queue_depths(self) -> None:
        queues = {"events": self.queue_url}
        target = self.redrive_policy.get("deadLetterTargetArn")
        if target and self._dead_letter_url is None:
            name = str(target).rsplit(":", 1)[-1]
            self._dead_letter_url = self._sqs.get_queue_url(QueueName=name)["QueueUrl"]
        if self._dead_letter_url:
            queues["dead_letter"] = self._dead_letter_url
        with untraced():
            for queue, url in queues.items():
                attributes = self._sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
                )["Attributes"]
                QUEUE_DEPTH[queue] = int(attributes["ApproximateNumberOfMessages"])

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set; the batch in hand is finished first, unless DynamoDB is
        unavailable, in which case it goes back to the queue."""
        self._stop = stop
        metrics.start_counting_events()
        logger.info("worker started", extra={"event": "worker.started"})
        next_depth_read = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= next_depth_read:
                    next_depth_read = time.monotonic() + QUEUE_DEPTH_INTERVAL_SECONDS
                    self.read_queue_depths()
                self.poll_once()
            except (BotoCoreError, ClientError) as error:
                log = logger.warning if classify(error) is Failure.UNAVAILABLE else logger.error
                log(
                    "queue unreachable; retrying",
                    extra={"event": "worker.poll_failed", **_error_fields(error)},
                )
                stop.wait(self._settings.worker_retry_delay_seconds or 1)
        logger.info("worker stopped", extra={"event": "worker.stopped"})

    def poll_once(self) -> int:
        """Receive one batch (long polling) and handle it; return how many messages came."""
        with untraced():
            response = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=self._settings.worker_wait_seconds,
                VisibilityTimeout=self._settings.worker_visibility_timeout_seconds,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
        messages = response.get("Messages", [])
        with self._visibility_extended(messages):
            for index, message in enumerate(messages):
                try:
                    self.handle(message)
                except StoppedError:
                    self._release(messages[index:])
                    break
        return len(messages)

    def handle(self, message: "MessageTypeDef") -> None:
        attributes = {
            name: value.get("StringValue", "")
            for name, value in message.get("MessageAttributes", {}).items()
        }
        event_type = attributes.get("event_type", "unknown")
        receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        parent = propagate.extract(attributes)
        with tracer.start_as_current_span(
            f"{event_type} process",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "aws_sqs",
                "messaging.operation.type": "process",
                "messaging.message.id": message.get("MessageId", ""),
                "messaging.destination.name": self._settings.queue_name,
            },
        ) as span:
            try:
                outcome = self._apply_while_available(message.get("Body", ""), event_type)
            except (PoisonEventError, AwsPermanentError) as error:
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                outcome = self._fail(message, event_type, receives, error)
            else:
                self._delete(message, event_type)
            span.set_attribute("logger_app.outcome", outcome)
        metrics.worker_events.add(1, {"event": event_type, "outcome": outcome})

    def _apply_while_available(self, body: str, event_type: str) -> str:
        """Apply the event; while DynamoDB is unavailable, wait and try again, backing off.
        The batch stays invisible meanwhile (the heartbeat), and no new receive is spent."""
        delay = float(self._settings.worker_retry_delay_seconds or 1)
        while True:
            try:
                return self._apply(body, event_type)
            except (BotoCoreError, ClientError) as error:
                if classify(error) is not Failure.UNAVAILABLE:
                    raise AwsPermanentError.from_error("DynamoDB", error) from error
                logger.warning(
                    "DynamoDB unavailable; holding the batch and retrying",
                    extra={
                        "event": "worker.backing_off",
                        "event_type": event_type,
                        "retry_in_seconds": delay,
                        **_error_fields(error),
                    },
                )
                if self._stop.wait(delay):
                    raise StoppedError from error
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    def _delete(self, message: "MessageTypeDef", event_type: str) -> None:
        try:
            self._sqs.delete_message(
                QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
        except (BotoCoreError, ClientError) as error:
            # Applied already: the message comes back and is recognised as a duplicate.
            logger.warning(
                "event processed but not deleted from the queue",
                extra={"event": "worker.delete_failed", "event_type": event_type}
                | _error_fields(error),
            )

    def _release(self, messages: list["MessageTypeDef"]) -> None:
        """Give back what was not handled, at once, for whoever polls next."""
        try:
            self._sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for index, m in enumerate(messages)
                ],
            )
        except (BotoCoreError, ClientError) as error:
            logger.warning(
                "could not give the batch back; it returns after its visibility timeout",
                extra={"event": "worker.release_failed", **_error_fields(error)},
            )

    def _apply(self, body: str, event_type: str) -> str:
        try:
            event: dict[str, Any] = json.loads(body)
            effect = self._effects[event["type"]]
            items = effect(event["data"])
            event_id = str(event["id"])
        except (ValueError, KeyError, TypeError) as error:
            raise PoisonEventError(f"cannot handle {event_type}: {error!r}") from error

        marker: TransactWriteItemTypeDef = {
            "Put": {
                "TableName": self._settings.outbox_table,
                "Item": {
                    "pk": {"S": "processed#" + event_id},
                    "sk": {"S": "processed"},
                    "processed_at": {"S": utc_now()},
                    "expires_at": {"N": str(int(time.time()) + PROCESSED_MARKER_TTL_SECONDS)},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        try:
            self._dynamodb.transact_write_items(TransactItems=[marker, *items])
        except ClientError as error:
            reasons = error.response.get("CancellationReasons", [])
            codes = [reason.get("Code") for reason in reasons]
            if codes and codes[0] == "ConditionalCheckFailed":
                logger.info(
                    "event already processed",
                    extra={"event": "worker.duplicate", "event_type": event_type},
                )
                return "duplicate"
            if classify(error) is Failure.CONFLICT:
                raise PoisonEventError(f"{event_type} refers to something missing") from error
            raise
        logger.info(
            "event processed", extra={"event": "worker.processed", "event_type": event_type}
        )
        return "processed"

    def _fail(
        self, message: "MessageTypeDef", event_type: str, receives: int, error: Exception
    ) -> str:
        limit = self.receive_limit
        final = limit is not None and receives >= limit
        fields: dict[str, object] = {
            "event": "worker.failed",
            "event_type": event_type,
            "receives": receives,
            "error": type(error).__name__,
        }
        if isinstance(error, AwsPermanentError):
            fields.update(error=error.code, error_message=error.message)
        logger.error(
            "event failed" + ("; the queue moves it to the dead-letter queue" if final else ""),
            extra=fields,
        )
        # Back on the queue after a delay rather than after the full visibility timeout.
        try:
            self._sqs.change_message_visibility(
                QueueUrl=self.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=self._settings.worker_retry_delay_seconds,
            )
        except (BotoCoreError, ClientError) as change_error:
            logger.warning(
                "failed event returns after its visibility timeout instead",
                extra={"event": "worker.release_failed", **_error_fields(change_error)},
            )
        return "dead_lettered" if final else "failed"

    def _welcome_patient(self, data: Mapping[str, str]) -> list["TransactWriteItemTypeDef"]:
        return [
            {
                "Update": {
                    "TableName": self._settings.patients_table,
                    "Key": {"pk": {"S": "patient#" + data["patient_id"]}},
                    "UpdateExpression": "SET welcomed_at = :now",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": {":now": {"S": utc_now()}},
                }
            }
        ]

    def _count_doctor_interaction(
        self, data: Mapping[str, str]
    ) -> list["TransactWriteItemTypeDef"]:
        return [
            {
                "Update": {
                    "TableName": self._settings.patients_table,
                    "Key": {"pk": {"S": "doctor#" + data["doctor_id"]}},
                    "UpdateExpression": "ADD #kind :one",
                    "ExpressionAttributeNames": {"#kind": data["kind"]},
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            }
        ]

    @contextmanager
    def _visibility_extended(self, messages: list["MessageTypeDef"]) -> Iterator[None]:
        """While a batch is worked on, keep it invisible to other consumers."""
        if not messages:
            yield
            return
        done = threading.Event()
        timeout = self._settings.worker_visibility_timeout_seconds

        def heartbeat() -> None:
            while not done.wait(timeout / 2):
                try:
                    with untraced():
                        self._extend(messages, timeout)
                except (BotoCoreError, ClientError) as error:
                    logger.warning(
                        "could not extend visibility",
                        extra={"event": "worker.heartbeat_failed", **_error_fields(error)},
                    )

        thread = threading.Thread(target=heartbeat, name="visibility-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def _extend(self, messages: list["MessageTypeDef"], timeout: int) -> None:
        self._sqs.change_message_visibility_batch(
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


def _error_fields(error: BaseException) -> dict[str, str]:
    fields = {"error": error_code(error)}
    if isinstance(error, ClientError):
        fields["error_message"] = str(error.response.get("Error", {}).get("Message", ""))[:300]
    return fields


def main() -> None:
    """The worker process (run under opentelemetry-instrument by ``logger-app worker``)."""
    settings = get_settings()
    configure_logging(settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    Worker(settings).run(stop)


if __name__ == "__main__":
    main()
