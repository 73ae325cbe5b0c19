"""Domain events, as SQS messages carrying the trace context of the request that made them."""

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from logger_app.clock import utc_now
from logger_app.tracing import trace_context_headers

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef


@dataclass(frozen=True)
class Event:
    """An event with the trace context of the code that created it.

    The context is captured at creation, inside the request, so an event published later
    (from the outbox, after a restart) still continues the request's trace.
    """

    type: str
    data: Mapping[str, str]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=utc_now)
    trace_context: Mapping[str, str] = field(default_factory=trace_context_headers)

    def body(self) -> str:
        return json.dumps(
            {"id": self.id, "type": self.type, "occurred_at": self.occurred_at, "data": self.data},
            separators=(",", ":"),
        )

    def message_attributes(self) -> dict[str, "MessageAttributeValueTypeDef"]:
        # SQS allows 10 attributes: event_type, event_id and 2-3 propagation headers.
        values = {"event_type": self.type, "event_id": self.id, **self.trace_context}
        return {
            name: {"DataType": "String", "StringValue": value} for name, value in values.items()
        }

    def to_json(self) -> str:
        """Everything needed to publish it again, as stored in the outbox."""
        return json.dumps({**json.loads(self.body()), "trace_context": self.trace_context})

    @classmethod
    def from_json(cls, text: str) -> "Event":
        stored: dict[str, Any] = json.loads(text)
        return cls(
            type=stored["type"],
            data=stored["data"],
            id=stored["id"],
            occurred_at=stored["occurred_at"],
            trace_context=stored.get("trace_context", {}),
        )
