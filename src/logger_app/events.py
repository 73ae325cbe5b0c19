"""Domain events published to SQS, carrying the request's trace context in message attributes."""

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from logger_app import metrics
from logger_app.aws import AwsClients, AwsUnavailableError
from logger_app.settings import Settings
from logger_app.tracing import trace_context_headers

logger = logging.getLogger(__name__)


def utc_now() -> str:
    """RFC 3339 in UTC with microseconds: fixed width, so it also sorts as a string."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Event:
    type: str
    data: Mapping[str, str]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=utc_now)

    def to_json(self) -> str:
        return json.dumps(
            {"id": self.id, "type": self.type, "occurred_at": self.occurred_at, "data": self.data},
            separators=(",", ":"),
        )


class EventPublisher:
    def __init__(self, clients: AwsClients, settings: Settings) -> None:
        self._clients = clients
        self._queue_name = settings.queue_name
        self._queue_url = settings.queue_url

    async def queue_url(self) -> str:
        if self._queue_url is None:
            response = await self._clients.call(
                "SQS", self._clients.sqs.get_queue_url, QueueName=self._queue_name
            )
            self._queue_url = response["QueueUrl"]
        return self._queue_url

    async def publish(self, event: Event) -> bool:
        """Send the event; on failure (after botocore's retries) log and count it, never raise.

        The caller's write already stands, so a publish failure must not fail the request.
        """
        # Injected here, on the request's task: the thread running boto3 sees a copy.
        attributes = {
            name: {"DataType": "String", "StringValue": value}
            for name, value in {"event_type": event.type, **trace_context_headers()}.items()
        }
        try:
            await self._clients.call(
                "SQS",
                self._clients.sqs.send_message,
                QueueUrl=await self.queue_url(),
                MessageBody=event.to_json(),
                MessageAttributes=attributes,
            )
        except (AwsUnavailableError, BotoCoreError, ClientError) as error:
            metrics.queue_publishes.add(1, {"event": event.type, "outcome": "failed"})
            logger.error(
                "event could not be published",
                extra={
                    "event": "event.publish_failed",
                    "event_type": event.type,
                    "event_id": event.id,
                    # Ids and types only (no personal data): enough to publish it again by hand.
                    "event_body": event.to_json(),
                    "error": type(error.__cause__ or error).__name__,
                },
            )
            return False
        metrics.queue_publishes.add(1, {"event": event.type, "outcome": "published"})
        return True
