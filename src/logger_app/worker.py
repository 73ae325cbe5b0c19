"""``logger-app worker``: consumes the event queue.

Each event is handled once: the effect and a "processed" marker keyed by the event id are one
DynamoDB transaction, so a repeated delivery (SQS is at-least-once; the outbox may publish an
event twice) changes nothing. The receive long-polls on a client of its own whose read timeout
outlives the wait (``Settings.worker_receive_read_timeout_seconds``): a poll the client gave up
on would still be handed a message by SQS, which would then count a receive nobody saw.

A message that cannot be handled, for whatever reason (not an event, nested too deeply, a field
missing, an unknown type, its patient missing, AWS refusing the call, a bug in an effect), fails
alone: it is logged at ERROR without its body, counted, and returned to the queue after a
delay; the rest of its batch is handled as usual. After the queue's own ``maxReceiveCount``
receives (read from its redrive policy) SQS moves it to the dead-letter queue, and the worker
counts and logs that last receive as dead-lettered itself. While DynamoDB is unavailable the
worker keeps its batch and retries, backing off, and receives nothing: transient throttling
costs no receives, so it dead-letters no valid event. Every AWS call goes through ``aws.call``
(the API's error classification and the call-duration histogram). The consumer span continues
the trace of the request that published the event.
"""

import json
import logging
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from logger_app import metrics, synthetic
from logger_app.aws import (
    AwsPermanentError,
    AwsUnavailableError,
    call,
    cancellation_codes,
    create_clients,
    create_long_poll_client,
    error_code,
    require_region_and_credentials,
)
from logger_app.clock import utc_now
from logger_app.events import Event, MalformedEventError, is_synthetic_message
from logger_app.logs import configure_logging
from logger_app.schemas import RecordKind
from logger_app.settings import Settings, get_settings
from logger_app.telemetry_shutdown import exit_at_once, shutdown_telemetry
from logger_app.tracing import untraced

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

# Named, not __name__: `python -m logger_app.worker` runs it as __main__.
logger = logging.getLogger("logger_app.worker")
tracer = trace.get_tracer("logger_app.worker")

PROCESSED_MARKER_TTL_SECONDS = 14 * 24 * 3600  # longer than SQS keeps a message
MAX_BACKOFF_SECONDS = 60.0
QUEUE_DEPTH_INTERVAL_SECONDS = 60.0
_AWS_ERRORS = (AwsUnavailableError, AwsPermanentError)
# An attribute name the effect writes on the doctor's item: only the kinds the API accepts.
RECORD_KINDS = frozenset(kind.value for kind in RecordKind)

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
    """The event can never be handled as it is (unknown type, missing patient). Its text is
    ours, never the event's: it is logged."""


class StoppedError(Exception):
    """The worker was asked to stop while it waited for DynamoDB; the batch goes back."""


# An event's effect: the DynamoDB writes it makes, given the event's data.
Effect = Callable[[Mapping[str, str]], list["TransactWriteItemTypeDef"]]


def default_effects(settings: Settings) -> dict[str, Effect]:
    """What each event type does: a sign-up marks the patient welcomed; a record counts the
    doctor's interactions by kind."""
    table = settings.patients_table

    def welcome_patient(data: Mapping[str, str]) -> list["TransactWriteItemTypeDef"]:
        return [
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": {"S": "patient#" + data["patient_id"]}},
                    "UpdateExpression": "SET welcomed_at = :now",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": {":now": {"S": utc_now()}},
                }
            }
        ]

    def count_doctor_interaction(data: Mapping[str, str]) -> list["TransactWriteItemTypeDef"]:
        if data["kind"] not in RECORD_KINDS:
            raise PoisonEventError("unknown record kind")
        expression = "ADD #kind :one"
        names = {"#kind": data["kind"]}
        values: dict[str, AttributeValueTypeDef] = {":one": {"N": "1"}}
        if synthetic.is_synthetic():  # a made-up doctor's counts expire with its records
            expression += " SET #expires = :expires"
            names["#expires"] = synthetic.EXPIRES_AT
            values[":expires"] = {"N": synthetic.expires_at()}
        return [
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": {"S": "doctor#" + data["doctor_id"]}},
                    "UpdateExpression": expression,
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            }
        ]

    return {"patient.signed_up": welcome_patient, "record.created": count_doctor_interaction}


def event_label(event_type: str | None) -> str:
    """The event type as the metric, the span name and the logs carry it: one of the known
    types or "unknown", so no message can mint new series or span names."""
    return event_type if event_type in metrics.EVENT_TYPES else metrics.UNKNOWN_EVENT


class Worker:
    def __init__(
        self,
        settings: Settings,
        queue_url: str | None = None,
        effects: Mapping[str, Effect] | None = None,
    ) -> None:
        clients = create_clients(settings)
        self._dynamodb: DynamoDBClient = clients.dynamodb
        self._sqs: SQSClient = clients.sqs
        self._long_poll: SQSClient = create_long_poll_client(settings)
        self._settings = settings
        self._queue_url = queue_url or settings.queue_url
        self._redrive_policy: dict[str, Any] | None = None
        self._dead_letter_url: str | None = None
        self._stop = threading.Event()
        self._effects = dict(effects if effects is not None else default_effects(settings))

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

    def read_queue_depths(self) -> None:
        """The event queue's and the dead-letter queue's depth, for the gauge. A failure is
        logged and leaves the last values: it must never stop the consuming."""
        try:
            self._read_queue_depths()
        except _AWS_ERRORS as error:
            logger.warning(
                "could not read the queue depths",
                extra={"event": "worker.depth_failed", **_error_fields(error)},
            )

    def _read_queue_depths(self) -> None:
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
                QUEUE_DEPTH[queue] = int(attributes["ApproximateNumberOfMessages"])

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set; the batch in hand is finished first, unless DynamoDB is
        unavailable, in which case it goes back to the queue. A receive in flight when ``stop``
        is set is waited for (at most the long poll's wait): abandoning it would leave SQS to
        hand it a message nobody reads."""
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
            except AwsUnavailableError as error:
                if stop.is_set():
                    break  # the receive in flight ended with the queue (make run stops it last)
                logger.warning(
                    "queue unreachable; retrying",
                    extra={"event": "worker.poll_failed", **_error_fields(error)},
                )
                stop.wait(self._settings.worker_retry_delay_seconds or 1)
            except AwsPermanentError as error:
                # Access denied, the queue missing, no credentials: not a network problem.
                logger.error(
                    "the queue refused the receive; retrying",
                    extra={"event": "worker.poll_failed", **_error_fields(error)},
                )
                stop.wait(self._settings.worker_retry_delay_seconds or 1)
        logger.info("worker stopped", extra={"event": "worker.stopped"})

    def poll_once(self) -> int:
        """Receive one batch (long polling) and handle it; return how many messages came."""
        with untraced():
            response = call(
                "SQS",
                self._long_poll.receive_message,
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=self._settings.worker_wait_seconds,
                VisibilityTimeout=self._settings.worker_visibility_timeout_seconds,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
        messages = response.get("Messages", [])
        in_hand = list(messages)  # what the heartbeat keeps invisible
        with self._visibility_extended(in_hand):
            for index, message in enumerate(messages):
                try:
                    self.handle(message)
                except StoppedError:
                    self._release(messages[index:])
                    break
                finally:
                    in_hand.remove(message)
        return len(messages)

    def handle(self, message: "MessageTypeDef") -> None:
        """Handle one message. Whatever goes wrong with it is its own: logged, counted and
        returned to the queue. Only StoppedError (asked to stop while DynamoDB is unavailable)
        leaves, for the batch to go back. A synthetic request's event is handled as synthetic:
        its lines, span and count say so, and what its effect stores expires."""
        attributes = {
            name: value.get("StringValue", "")
            for name, value in message.get("MessageAttributes", {}).items()
        }
        with synthetic.marked(is_synthetic_message(attributes)):
            self._handle(message, attributes)

    def _handle(self, message: "MessageTypeDef", attributes: Mapping[str, str]) -> None:
        label = event_label(attributes.get("event_type"))
        receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        fields: dict[str, object] = {
            "event_type": label,
            "message_id": message.get("MessageId", ""),
            "receives": receives,
        }
        with tracer.start_as_current_span(
            f"{label} process",
            context=propagate.extract(attributes),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "aws_sqs",
                "messaging.operation.type": "process",
                "messaging.message.id": message.get("MessageId", ""),
                "messaging.destination.name": self._settings.queue_name,
            },
            # An exception's text may quote the message: it is described by type only, below.
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            if synthetic.is_synthetic():
                span.set_attribute(synthetic.SPAN_ATTRIBUTE, True)
            try:
                event = Event.from_message(message.get("Body", ""), attributes)
                fields["event_id"] = event.id
                outcome = self._apply_while_available(event, fields)
            except StoppedError:
                raise
            except Exception as error:  # one message's failure, whatever it is, stays its own
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                outcome = self._fail(message, fields, receives, error)
            else:
                self._delete(message, fields)
            span.set_attribute("logger_app.outcome", outcome)
        metrics.worker_events.add(1, {"event": label, "outcome": outcome, **metrics.traffic()})

    def _apply_while_available(self, event: Event, fields: Mapping[str, object]) -> str:
        """Apply the event; while DynamoDB is unavailable, wait and try again, backing off.
        The batch stays invisible meanwhile (the heartbeat), and no new receive is spent."""
        delay = float(self._settings.worker_retry_delay_seconds or 1)
        while True:
            try:
                return self._apply(event, fields)
            except AwsUnavailableError as error:
                logger.warning(
                    "DynamoDB unavailable; holding the batch and retrying",
                    extra={
                        "event": "worker.backing_off",
                        **fields,
                        "retry_in_seconds": delay,
                        **_error_fields(error),
                    },
                )
                if self._stop.wait(delay):
                    raise StoppedError from error
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    def _apply(self, event: Event, fields: Mapping[str, object]) -> str:
        effect = self._effects.get(event.type)
        if effect is None:
            raise PoisonEventError("unknown event type")
        try:
            items = effect(event.data)
        except KeyError as missing:  # the name is the effect's own, not the message's
            raise PoisonEventError(f"the event's data has no {missing}") from None
        try:
            call(
                "DynamoDB",
                self._dynamodb.transact_write_items,
                TransactItems=[self._processed_marker(event.id), *items],
            )
        except ClientError as error:  # a conflict: a condition of ours did not hold
            if cancellation_codes(error)[:1] == ["ConditionalCheckFailed"]:
                logger.info(
                    "event already processed", extra={"event": "worker.duplicate", **fields}
                )
                return "duplicate"
            raise PoisonEventError("the event refers to something missing") from error
        logger.info("event processed", extra={"event": "worker.processed", **fields})
        return "processed"

    def _processed_marker(self, event_id: str) -> "TransactWriteItemTypeDef":
        return {
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

    def _delete(self, message: "MessageTypeDef", fields: Mapping[str, object]) -> None:
        try:
            call(
                "SQS",
                self._sqs.delete_message,
                QueueUrl=self.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
            )
        except _AWS_ERRORS as error:
            # Applied already: the message comes back and is recognised as a duplicate.
            logger.warning(
                "event processed but not deleted from the queue",
                extra={"event": "worker.delete_failed", **fields, **_error_fields(error)},
            )

    def _release(self, messages: list["MessageTypeDef"]) -> None:
        """Give back what was not handled, at once, for whoever polls next."""
        try:
            call(
                "SQS",
                self._sqs.change_message_visibility_batch,
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for index, m in enumerate(messages)
                ],
            )
        except _AWS_ERRORS as error:
            logger.warning(
                "could not give the batch back; it returns after its visibility timeout",
                extra={"event": "worker.release_failed", **_error_fields(error)},
            )

    def _fail(
        self,
        message: "MessageTypeDef",
        fields: Mapping[str, object],
        receives: int,
        error: Exception,
    ) -> str:
        """Log and count one message's failure, and put it back on the queue after the retry
        delay. Its last receive (the queue's maxReceiveCount) is reported as dead-lettered:
        SQS moves it to the dead-letter queue instead of delivering it again."""
        limit = self._receive_limit_or_none()
        final = limit is not None and receives >= limit
        logger.error(
            "event failed" + ("; the queue moves it to the dead-letter queue" if final else ""),
            extra={"event": "worker.failed", **fields, **_failure_fields(error)},
        )
        try:
            call(
                "SQS",
                self._sqs.change_message_visibility,
                QueueUrl=self.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=self._settings.worker_retry_delay_seconds,
            )
        except _AWS_ERRORS as change_error:
            logger.warning(
                "failed event returns after its visibility timeout instead",
                extra={"event": "worker.release_failed", **_error_fields(change_error)},
            )
        return "dead_lettered" if final else "failed"

    def _receive_limit_or_none(self) -> int | None:
        """The queue's receive limit; None if it cannot be read now (the failure then counts
        as failed, not dead-lettered, and the next one asks again)."""
        try:
            return self.receive_limit
        except _AWS_ERRORS as error:
            logger.warning(
                "could not read the queue's redrive policy",
                extra={"event": "worker.policy_failed", **_error_fields(error)},
            )
            return None

    @contextmanager
    def _visibility_extended(self, in_hand: list["MessageTypeDef"]) -> Iterator[None]:
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
                        self._extend(messages, timeout)
                except _AWS_ERRORS as error:
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


def _error_fields(error: BaseException) -> dict[str, str]:
    """An AWS error as log fields: AWS's code (or botocore's exception), and its message."""
    if isinstance(error, AwsPermanentError):
        return {"error": error.code, "error_message": error.message}
    cause = error.__cause__ if isinstance(error, AwsUnavailableError) else error
    fields = {"error": error_code(cause or error)}
    if isinstance(cause, ClientError):
        fields["error_message"] = str(cause.response.get("Error", {}).get("Message", ""))[:300]
    return fields


def _failure_fields(error: Exception) -> dict[str, str]:
    """Why a message failed, as log fields, never quoting the message: our own reasons, AWS's
    error, or, for anything unexpected, the exception's type and where it was raised."""
    if isinstance(error, MalformedEventError | PoisonEventError):
        return {"error": type(error).__name__, "reason": str(error)}
    if isinstance(error, _AWS_ERRORS):
        return _error_fields(error)
    return {"error": type(error).__name__, "error_at": _raised_at(error)}


def _raised_at(error: BaseException) -> str:
    """``file:line`` of the innermost frame of ours (logger_app) the exception went through."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if "/logger_app/" in frame.filename] or frames
    if not ours:
        return ""
    frame = ours[-1]
    return f"logger_app/{frame.filename.rsplit('/logger_app/', 1)[-1]}:{frame.lineno}"


def main() -> None:
    """The worker process (run under opentelemetry-instrument by ``logger-app worker``)."""
    try:
        settings = get_settings()
    except SystemExit as invalid:
        exit_at_once(str(invalid.code))
    configure_logging(settings)
    require_region_and_credentials(settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        Worker(settings).run(stop)
    finally:
        # The SDK's own flush at exit retries a missing collector for up to 10 s.
        shutdown_telemetry()


if __name__ == "__main__":
    main()
