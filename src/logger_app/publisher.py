"""Publishing committed events to SQS: a write answers when its transaction commits, and its
event leaves a few milliseconds later, in a batch with the events of other requests.

An event submitted waits at most the linger, or until nine others join it, then goes to SQS in
one ``SendMessageBatch``; the events SQS accepted are then removed from the outbox in batches of
their own (up to 25 per ``BatchWriteItem``). Whatever was not sent (SQS down, one entry refused,
the process killed while the event waited) is still in the outbox, where the drain finds it: at
start-up, every few seconds, and at shutdown after the last batch.

Each event's ``send`` span starts when its transaction committed and ends when SQS accepted it,
as a child of the request's span: a trace shows how long its event took to leave.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from logger_app import metrics, synthetic
from logger_app.aws import AwsClients, AwsPermanentError, AwsUnavailableError
from logger_app.batching import Batches
from logger_app.clock import seconds_ago
from logger_app.events import Event
from logger_app.outbox import BATCH_WRITE_LIMIT, Backlog, Outbox, age_seconds
from logger_app.refusals import Refusal, log_refusal
from logger_app.settings import Settings
from logger_app.tracing import untraced

logger = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)

SEND_BATCH_LIMIT = 10  # SendMessageBatch's limit of messages per call
# While AWS is slow, at most this many batches of each kind hold worker threads (the requests'
# writes need them too) and at most this many events wait in memory; the rest wait in the
# outbox only.
MAX_BATCHES_IN_FLIGHT = 4
MAX_WAITING = 1_000
# Nobody waits for a removal (a drain only looks at entries 10 s old), so it waits a second
# for company: at tens of writes a second, one BatchWriteItem for up to 25 events, where a
# shorter wait sent one for every two or three (a call and a thread hop each, issue #28).
REMOVAL_LINGER_SECONDS = 1.0
_AWS_ERRORS = (AwsUnavailableError, AwsPermanentError)


@dataclass(frozen=True)
class _Submitted:
    event: Event
    parent: otel_context.Context  # the request's context, for the send span
    submitted_ns: int


class EventPublisher:
    """One per process: ``submit`` from requests, ``drain`` from the background and shutdown."""

    def __init__(self, clients: AwsClients, settings: Settings, outbox: Outbox) -> None:
        self._clients = clients
        self._outbox = outbox
        # What the last drain found still pending (observe_backlog's gauges).
        self.backlog = Backlog()
        self._queue_name = settings.queue_name
        self._queue_url = settings.queue_url
        self._sends = Batches(
            self._send_submitted,
            size=SEND_BATCH_LIMIT,
            linger_seconds=settings.publish_linger_ms / 1000,
            max_in_flight=MAX_BATCHES_IN_FLIGHT,
            max_waiting=MAX_WAITING,
        )
        # Removal apart from sending: a send's slot is free as soon as SQS has the events, and
        # the events published within REMOVAL_LINGER_SECONDS are removed together, 25 to a call.
        self._removals = Batches(
            self._remove,
            size=BATCH_WRITE_LIMIT,
            linger_seconds=REMOVAL_LINGER_SECONDS,
            max_in_flight=MAX_BATCHES_IN_FLIGHT,
            max_waiting=MAX_WAITING,
        )

    async def queue_url(self) -> str:
        if self._queue_url is None:
            response = await self._clients.call(
                "SQS", self._clients.sqs.get_queue_url, QueueName=self._queue_name
            )
            self._queue_url = response["QueueUrl"]
        return self._queue_url

    def observe_backlog(self) -> None:
        """Report the backlog the last drain found as two gauges (from the app's lifespan)."""
        metrics.observe(
            "logger_app.outbox.pending",
            "{event}",
            "Events saved but not yet published, older than the drain's minimum age, as the last "
            "drain found them (every API task sees the whole outbox: aggregate with max).",
            lambda: [(self.backlog.pending, {})],
        )
        metrics.observe(
            "logger_app.outbox.oldest_age",
            "s",
            "Age of the oldest event still waiting in the outbox; 0 when none.",
            lambda: [(self.backlog.oldest_age_seconds, {})],
        )

    def submit(self, event: Event) -> None:
        """Publish a committed event soon, with the others submitted meanwhile.

        Never waits and never raises: the event is already safe in the outbox (and when SQS
        is slower than the writes and too many wait, the drain publishes it from there).
        """
        self._sends.add(_Submitted(event, otel_context.get_current(), time.time_ns()))

    async def flush(self) -> None:
        """Send what is waiting now, remove what was sent, and return when all is done."""
        await self._sends.flush()
        await self._removals.flush()

    async def _send_submitted(self, batch: list[_Submitted]) -> None:
        for item, refusal in await self._publish(batch):
            # Counted and logged once per event, here; the drain's retries are not.
            metrics.queue_publishes.add(1, {"event": item.event.type, "outcome": metrics.FAILED})
            with synthetic.marked(item.event.synthetic):
                log_refusal(
                    logger,
                    refusal,
                    "event not published yet; kept in the outbox",
                    event="event.publish_failed",
                    event_type=item.event.type,
                    event_id=item.event.id,
                )

    async def _publish(self, batch: Sequence[_Submitted]) -> list[tuple[_Submitted, Refusal]]:
        """Send one batch and queue what SQS accepted for removal; return the rest."""
        spans = [
            _tracer.start_span(
                f"send {self._queue_name}",
                context=item.parent,
                kind=SpanKind.PRODUCER,
                start_time=item.submitted_ns,
                attributes={
                    "messaging.system": "aws_sqs",
                    "messaging.operation.type": "send",
                    "messaging.destination.name": self._queue_name,
                    "messaging.batch.message_count": len(batch),
                    "logger_app.event_type": item.event.type,
                    **({synthetic.SPAN_ATTRIBUTE: True} if item.event.synthetic else {}),
                },
            )
            for item in batch
        ]
        # The SendMessageBatch span goes under the first event's: one trace holds it.
        with trace.use_span(spans[0], end_on_exit=False):
            refusals = await self._send([item.event for item in batch])
        refused: list[tuple[_Submitted, Refusal]] = []
        for item, span, refusal in zip(batch, spans, refusals, strict=True):
            if refusal is None:
                metrics.queue_publishes.add(
                    1, {"event": item.event.type, "outcome": metrics.PUBLISHED}
                )
                # Not taken (too many waiting): still listed, published again by a drain.
                self._removals.add(item.event)
            else:
                span.set_status(Status(StatusCode.ERROR, refusal.code))
                refused.append((item, refusal))
            span.end()
        return refused

    async def _send(self, events: Sequence[Event]) -> list[Refusal | None]:
        """One SendMessageBatch; each event's refusal, in order (None: SQS has it)."""
        try:
            response = await self._clients.call(
                "SQS",
                self._clients.sqs.send_message_batch,
                QueueUrl=await self.queue_url(),
                Entries=[
                    {
                        "Id": str(index),
                        "MessageBody": event.body(),
                        "MessageAttributes": event.message_attributes(),
                    }
                    for index, event in enumerate(events)
                ],
            )
        except _AWS_ERRORS as error:
            return [Refusal.from_error(error)] * len(events)
        refusals: list[Refusal | None] = [None] * len(events)
        for failed in response.get("Failed", []):
            refusals[int(failed["Id"])] = Refusal(
                "SQS", failed["Code"], failed.get("Message", ""), permanent=failed["SenderFault"]
            )
        return refusals

    async def _remove(self, published: list[Event]) -> None:
        try:
            with untraced():  # bookkeeping, like the drain's reads: no trace of its own
                left = await self._outbox.remove(published)
        except _AWS_ERRORS as error:
            left, refusal = len(published), Refusal.from_error(error)
        else:
            refusal = Refusal("DynamoDB", "UnprocessedItems", "", permanent=False)
        if left:
            # Published but still listed: the next drain sends them again and the worker,
            # which deduplicates on the event id, ignores the copies.
            log_refusal(
                logger, refusal, "published events left in the outbox", event="outbox.delete_failed"
            )

    async def drain(self, older_than_seconds: float = 0.0) -> int:
        """Publish the outbox's entries older than the given age; return how many were published.

        The age keeps a drain from racing the batches of events just committed. Never raises:
        what fails now is tried again by the next drain.
        """
        try:
            published = await self._drain(older_than_seconds)
            await self._removals.flush()
            return published
        except _AWS_ERRORS as error:
            log_refusal(
                logger,
                Refusal.from_error(error),
                "outbox drain failed; retrying later",
                event="outbox.drain_failed",
            )
            return 0

    async def _drain(self, older_than_seconds: float) -> int:
        """Publish what is pending, in batches; once a whole batch is refused, stop publishing
        (until the next drain) but go on counting what is left, for the backlog gauges."""
        published = 0
        backlog = Backlog()
        refusal: Refusal | None = None
        pending = self._outbox.pending(seconds_ago(older_than_seconds))
        async for batch in _batched(pending, SEND_BATCH_LIMIT):
            left = batch
            if refusal is None:
                # The late publish joins the trace of the request that wrote the event.
                now = time.time_ns()
                submitted = [_Submitted(e, propagate.extract(e.trace_context), now) for e in batch]
                refused = await self._publish(submitted)
                left = [item.event for item, _ in refused]
                published += len(batch) - len(left)
                if len(left) == len(batch):
                    refusal = refused[0][1]
            backlog.pending += len(left)
            for event in left:
                backlog.oldest_age_seconds = max(backlog.oldest_age_seconds, age_seconds(event))

        self.backlog = backlog
        if published:
            logger.info(
                "events published from the outbox",
                extra={"event": "outbox.published", "published": str(published)},
            )
        if refusal is not None:
            # One line per drain, not one per event or retry: the events were each logged and
            # counted when their first publish failed.
            log_refusal(
                logger,
                refusal,
                "outbox still waiting to publish",
                event="outbox.waiting",
                pending=str(backlog.pending),
            )
        return published

    async def run(self, interval_seconds: float, older_than_seconds: float) -> None:
        """Drain now (start-up) and then every interval, until cancelled."""
        while True:
            await self.drain(older_than_seconds)
            await asyncio.sleep(interval_seconds)


async def _batched(events: AsyncIterator[Event], size: int) -> AsyncIterator[list[Event]]:
    batch: list[Event] = []
    async for event in events:
        batch.append(event)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
