"""The worker's loop: poll the queue, handle each message, once.

Each event is handled once: the effect and a processed marker keyed by the event id are one
DynamoDB transaction (``Outbox.mark_processed``), so a repeated delivery (SQS is at-least-once;
the outbox may publish an event twice) changes nothing.

A message that cannot be handled, for whatever reason (not an event, nested too deeply, a field
missing, an unknown type, its patient missing, AWS refusing the call, a bug in an effect), fails
alone: it is logged at ERROR without its body, counted, and returned to the queue after a
delay; the rest of its batch is handled as usual. After the queue's own ``maxReceiveCount``
receives (read from its redrive policy) SQS moves it to the dead-letter queue, and the worker
counts and logs that last receive as dead-lettered itself. While DynamoDB is unavailable the
worker keeps its batch and retries, backing off, and receives nothing: transient throttling
costs no receives, so it dead-letters no valid event. The consumer span continues the trace of
the request that published the event.
"""

import logging
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from logger_app import metrics, synthetic
from logger_app.aws import AwsPermanentError, AwsUnavailableError, call, cancellation_codes
from logger_app.events import Event, is_synthetic_message, received_attributes
from logger_app.log_events import WORKER_PROCESSED
from logger_app.outbox import Outbox
from logger_app.settings import Settings
from logger_app.worker.effects import Effect
from logger_app.worker.failures import PoisonEventError, StoppedError, error_fields, failure_fields
from logger_app.worker.queue import EventQueue

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

# One logger and tracer for the whole worker: its lines say "logger_app.worker".
logger = logging.getLogger(__package__)
tracer = trace.get_tracer(logger.name)

MAX_BACKOFF_SECONDS = 60.0
QUEUE_DEPTH_INTERVAL_SECONDS = 60.0


def event_label(event_type: str | None) -> str:
    """The event type as the metric, the span name and the logs carry it: one of the known
    types or "unknown", so no message can mint new series or span names."""
    return event_type if event_type in metrics.EVENT_TYPES else metrics.UNKNOWN_EVENT


class Worker:
    def __init__(
        self,
        queue: EventQueue,
        dynamodb: "DynamoDBClient",
        outbox: Outbox,
        effects: Mapping[str, Effect],
        settings: Settings,
    ) -> None:
        """``outbox`` writes the processed markers; ``effects`` are by event type."""
        self.queue = queue
        self._dynamodb = dynamodb
        self._outbox = outbox
        self._effects = dict(effects)
        self._settings = settings
        self._stop = threading.Event()

    @property
    def queue_url(self) -> str:
        return self.queue.queue_url

    @property
    def receive_limit(self) -> int | None:
        return self.queue.receive_limit

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
                    self.queue.read_depths()
                self.poll_once()
            except AwsUnavailableError as error:
                if stop.is_set():
                    break  # the receive in flight ended with the queue (make run stops it last)
                logger.warning(
                    "queue unreachable; retrying",
                    extra={"event": "worker.poll_failed", **error_fields(error)},
                )
                stop.wait(self._settings.worker_retry_delay_seconds or 1)
            except AwsPermanentError as error:
                # Access denied, the queue missing, no credentials: not a network problem.
                logger.error(
                    "the queue refused the receive; retrying",
                    extra={"event": "worker.poll_failed", **error_fields(error)},
                )
                stop.wait(self._settings.worker_retry_delay_seconds or 1)
        logger.info("worker stopped", extra={"event": "worker.stopped"})

    def poll_once(self) -> int:
        """Receive one batch (long polling) and handle it; return how many messages came."""
        messages = self.queue.receive()
        in_hand = list(messages)  # what the heartbeat keeps invisible
        with self.queue.kept_invisible(in_hand):
            for index, message in enumerate(messages):
                try:
                    self.handle(message)
                except StoppedError:
                    self.queue.release(messages[index:])
                    break
                finally:
                    in_hand.remove(message)
        return len(messages)

    def handle(self, message: "MessageTypeDef") -> None:
        """Handle one message. Whatever goes wrong with it is its own: logged, counted and
        returned to the queue. Only StoppedError (asked to stop while DynamoDB is unavailable)
        leaves, for the batch to go back. A synthetic request's event is handled as synthetic:
        its lines, span and count say so, and what its effect stores expires."""
        attributes = received_attributes(message)
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
                self.queue.delete(message, fields)
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
                        **error_fields(error),
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
                TransactItems=[self._outbox.mark_processed(event.id), *items],
            )
        except ClientError as error:  # a conflict: a condition of ours did not hold
            if cancellation_codes(error)[:1] == ["ConditionalCheckFailed"]:
                logger.info(
                    "event already processed", extra={"event": "worker.duplicate", **fields}
                )
                return metrics.DUPLICATE
            raise PoisonEventError("the event refers to something missing") from error
        logger.info("event processed", extra={"event": WORKER_PROCESSED, **fields})
        return metrics.PROCESSED

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
        limit = self.queue.receive_limit_or_none()
        final = limit is not None and receives >= limit
        logger.error(
            "event failed" + ("; the queue moves it to the dead-letter queue" if final else ""),
            extra={"event": "worker.failed", **fields, **failure_fields(error)},
        )
        self.queue.retry_later(message)
        return metrics.DEAD_LETTERED if final else metrics.FAILED
