"""A transactional outbox: an event is written in the same DynamoDB transaction as the item it
describes, then published; what could not be published is published later by a drain that runs
in the background and at start-up. Nothing accepted is lost when SQS is down or the process dies.

Entries are spread over a few partitions (``pending#<n>``) with a sort key that starts with the
time, so a drain reads only pending entries, oldest first, without scanning. Each drain also
measures the backlog (how many entries are older than the minimum age, and the oldest's age),
which two gauges report: a backlog is one number that drains to 0, where a count of failed
attempts would grow with every retry.
"""

import logging
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio

from logger_app import metrics
from logger_app.aws import AwsClients, AwsPermanentError, AwsUnavailableError, error_code
from logger_app.clock import seconds_ago
from logger_app.events import Event, EventPublisher
from logger_app.tracing import continuing, untraced

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

logger = logging.getLogger(__name__)

SHARDS = 8
_AWS_ERRORS = (AwsUnavailableError, AwsPermanentError)


@dataclass
class Backlog:
    """What the last drain of this process found still pending (older than the minimum age)."""

    pending: int = 0
    oldest_age_seconds: float = 0.0


BACKLOG = Backlog()
metrics.observe(
    "logger_app.outbox.pending",
    "{event}",
    "Events saved but not yet published, older than the drain's minimum age, as the last "
    "drain found them (every API task sees the whole outbox: aggregate with max).",
    lambda: [(BACKLOG.pending, {})],
)
metrics.observe(
    "logger_app.outbox.oldest_age",
    "s",
    "Age of the oldest event still waiting in the outbox; 0 when none.",
    lambda: [(BACKLOG.oldest_age_seconds, {})],
)


def _shard(event_id: str) -> str:
    return f"pending#{zlib.crc32(event_id.encode()) % SHARDS}"


def _sort_key(event: Event) -> str:
    return f"{event.occurred_at}#{event.id}"


class Outbox:
    def __init__(self, clients: AwsClients, table: str, publisher: EventPublisher) -> None:
        self._clients = clients
        self._table = table
        self._publisher = publisher

    def put(self, event: Event) -> "TransactWriteItemTypeDef":
        """The transaction item that records the event beside the write it describes."""
        return {
            "Put": {
                "TableName": self._table,
                "Item": {
                    "pk": {"S": _shard(event.id)},
                    "sk": {"S": _sort_key(event)},
                    "event": {"S": event.to_json()},
                },
            }
        }

    async def deliver(self, event: Event) -> bool:
        """Publish right after the write, then remove the entry. On failure the entry stays
        for the drain; the failure is counted and logged here, once per event."""
        try:
            await self._publisher.send(event)
        except _AWS_ERRORS as error:
            metrics.queue_publishes.add(1, {"event": event.type, "outcome": "failed"})
            _log_failure(
                error,
                "event not published yet; kept in the outbox",
                event="event.publish_failed",
                event_type=event.type,
                event_id=event.id,
            )
            return False
        await self._published(event)
        return True

    async def _published(self, event: Event) -> None:
        metrics.queue_publishes.add(1, {"event": event.type, "outcome": "published"})
        try:
            await self._clients.call(
                "DynamoDB",
                self._clients.dynamodb.delete_item,
                TableName=self._table,
                Key={"pk": {"S": _shard(event.id)}, "sk": {"S": _sort_key(event)}},
            )
        except _AWS_ERRORS as error:
            # Published but still listed: the next drain sends it again and the worker,
            # which deduplicates on the event id, ignores the copy.
            _log_failure(
                error,
                "published event left in the outbox",
                event="outbox.delete_failed",
                event_id=event.id,
            )

    async def drain(self, older_than_seconds: float = 0.0) -> int:
        """Publish pending entries older than the given age; return how many were published.

        The age keeps a drain from racing requests that are about to publish their own events.
        Never raises: what fails now is tried again by the next drain.
        """
        try:
            return await self._drain(older_than_seconds)
        except _AWS_ERRORS as error:
            _log_failure(error, "outbox drain failed; retrying later", event="outbox.drain_failed")
            return 0

    async def _drain(self, older_than_seconds: float) -> int:
        """Publish what is pending, oldest first; once the queue fails, stop publishing (until
        the next drain) but go on counting what is left, for the backlog gauges."""
        cutoff = seconds_ago(older_than_seconds)
        published = 0
        backlog = Backlog()
        failure: AwsUnavailableError | AwsPermanentError | None = None
        for shard in range(SHARDS):
            async for event in self._pending(f"pending#{shard}", cutoff):
                if failure is None:
                    try:
                        # The late publish joins the trace of the request that wrote the event.
                        with continuing(event.trace_context):
                            await self._publisher.send(event)
                            await self._published(event)
                    except _AWS_ERRORS as error:
                        failure = error
                    else:
                        published += 1
                        logger.info(
                            "event published from the outbox",
                            extra={"event": "outbox.published", "event_type": event.type},
                        )
                        continue
                backlog.pending += 1
                backlog.oldest_age_seconds = max(backlog.oldest_age_seconds, _age(event))
        BACKLOG.pending, BACKLOG.oldest_age_seconds = backlog.pending, backlog.oldest_age_seconds
        if failure is not None:
            # One line per drain, not one per event or retry: the events were each logged and
            # counted when their first publish failed.
            _log_failure(
                failure,
                "outbox still waiting to publish",
                event="outbox.waiting",
                pending=str(backlog.pending),
            )
        return published

    async def _pending(self, partition: str, cutoff: str) -> AsyncIterator[Event]:
        start: dict[str, Any] | None = None
        while True:
            with untraced():
                page = await self._clients.call(
                    "DynamoDB",
                    self._clients.dynamodb.query,
                    TableName=self._table,
                    KeyConditionExpression="pk = :pk AND sk < :cutoff",
                    ExpressionAttributeValues={":pk": {"S": partition}, ":cutoff": {"S": cutoff}},
                    ConsistentRead=True,
                    **({"ExclusiveStartKey": start} if start else {}),
                )
            for item in page.get("Items", []):
                yield Event.from_json(item["event"]["S"])
            start = page.get("LastEvaluatedKey")
            if not start:
                return

    async def run(self, interval_seconds: float, older_than_seconds: float) -> None:
        """Drain now (start-up) and then every interval, until cancelled."""
        while True:
            await self.drain(older_than_seconds)
            await anyio.sleep(interval_seconds)


def _age(event: Event) -> float:
    occurred = datetime.fromisoformat(event.occurred_at.replace("Z", "+00:00"))
    return max(0.0, (datetime.now(UTC) - occurred).total_seconds())


def _log_failure(
    error: AwsUnavailableError | AwsPermanentError, message: str, **fields: str
) -> None:
    """Unavailable is expected now and then (WARNING); permanent needs a person (ERROR, with
    AWS's code and message). Either way the entry stays for the next drain."""
    if isinstance(error, AwsPermanentError):
        fields.update(dependency=error.service, error=error.code, error_message=error.message)
        logger.error(message, extra=fields)
    else:
        fields.update(dependency=error.service, error=error_code(error.__cause__ or error))
        logger.warning(message, extra=fields)
