"""A transactional outbox: an event is written in the same DynamoDB transaction as the item it
describes, and removed once SQS has it (``logger_app.publisher``). Nothing accepted is lost when
SQS is down or the process dies: what is still here is published again by a drain.

Entries are spread over a few partitions (``pending#<n>``) with a sort key that starts with the
time, so a drain reads only pending entries, oldest first, without scanning. Each drain also
measures the backlog (how many entries are older than the minimum age, and the oldest's age),
which the publisher keeps and reports as two gauges: a backlog is one number that drains to 0,
where a count of failed attempts would grow with every retry.

The same table keeps the worker's processed markers (``processed#<event id>``), one per event
it has handled, written in the transaction of the event's effect: a repeated delivery finds its
marker there and changes nothing. A marker outlives any copy of its event SQS may still hold.
"""

import time
import zlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from logger_app import keys
from logger_app.aws import AwsClients
from logger_app.clock import utc_now
from logger_app.events import Event
from logger_app.tracing import untraced

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef, WriteRequestTypeDef

SHARDS = 8
BATCH_WRITE_LIMIT = 25  # BatchWriteItem's limit of items per call
PROCESSED_MARKER_TTL_SECONDS = 14 * 24 * 3600  # longer than SQS keeps a message


@dataclass
class Backlog:
    """What the last drain of this process found still pending (older than the minimum age)."""

    pending: int = 0
    oldest_age_seconds: float = 0.0


def _key(event: Event) -> dict[str, Any]:
    shard = zlib.crc32(event.id.encode()) % SHARDS
    return {
        "pk": {"S": keys.pending(shard)},
        "sk": {"S": keys.pending_sort(event.occurred_at, event.id)},
    }


class Outbox:
    def __init__(self, clients: AwsClients, table: str) -> None:
        self._clients = clients
        self._table = table

    def put(self, event: Event) -> "TransactWriteItemTypeDef":
        """The transaction item that records the event beside the write it describes."""
        return {
            "Put": {
                "TableName": self._table,
                "Item": {**_key(event), "event": {"S": event.to_json()}},
            }
        }

    def mark_processed(self, event_id: str) -> "TransactWriteItemTypeDef":
        """The transaction item that marks an event handled; its condition fails (a conflict)
        when the event was handled already."""
        return {
            "Put": {
                "TableName": self._table,
                "Item": {
                    "pk": {"S": keys.processed(event_id)},
                    "sk": {"S": "processed"},
                    "processed_at": {"S": utc_now()},
                    "expires_at": {"N": str(int(time.time()) + PROCESSED_MARKER_TTL_SECONDS)},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    async def remove(self, events: Sequence[Event]) -> int:
        """Remove published events, 25 to a call; return how many are still listed.

        Raises the AWS error of a failed call. What DynamoDB leaves unprocessed, or a failed
        call, stays listed: the next drain publishes it again and the worker, which
        deduplicates on the event id, ignores the copy.
        """
        left = 0
        for first in range(0, len(events), BATCH_WRITE_LIMIT):
            requests: list[WriteRequestTypeDef] = [
                {"DeleteRequest": {"Key": _key(event)}}
                for event in events[first : first + BATCH_WRITE_LIMIT]
            ]
            response = await self._clients.call(
                "DynamoDB",
                self._clients.dynamodb.batch_write_item,
                RequestItems={self._table: requests},
            )
            left += len(response.get("UnprocessedItems", {}).get(self._table, []))
        return left

    async def pending(self, older_than: str) -> AsyncIterator[Event]:
        """Every listed event that occurred before ``older_than`` (a timestamp), oldest first
        within each partition."""
        for shard in range(SHARDS):
            start: dict[str, Any] | None = None
            while True:
                with untraced():
                    page = await self._clients.call(
                        "DynamoDB",
                        self._clients.dynamodb.query,
                        TableName=self._table,
                        KeyConditionExpression="pk = :pk AND sk < :cutoff",
                        ExpressionAttributeValues={
                            ":pk": {"S": keys.pending(shard)},
                            ":cutoff": {"S": older_than},
                        },
                        ConsistentRead=True,
                        **({"ExclusiveStartKey": start} if start else {}),
                    )
                for item in page.get("Items", []):
                    yield Event.from_json(item["event"]["S"])
                start = page.get("LastEvaluatedKey")
                if not start:
                    break


def age_seconds(event: Event) -> float:
    occurred = datetime.fromisoformat(event.occurred_at.replace("Z", "+00:00"))
    return max(0.0, (datetime.now(UTC) - occurred).total_seconds())
