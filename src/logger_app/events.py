"""Domain events, as SQS messages carrying the trace context of the request that made them."""

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from logger_app import synthetic as synthetic_work
from logger_app.clock import utc_now
from logger_app.tracing import trace_context_headers

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef, MessageTypeDef

# The event types, each written here once (the publisher's and the worker's counters, the
# services that make them, the worker's effects).
PATIENT_SIGNED_UP = "patient.signed_up"
RECORD_CREATED = "record.created"
EVENT_TYPES = (PATIENT_SIGNED_UP, RECORD_CREATED)
# The message attribute present ("true") on the events of synthetic requests.
SYNTHETIC_ATTRIBUTE = "synthetic"
# The message attributes that describe the event; the others carry its trace context.
EVENT_ATTRIBUTES = frozenset({"event_type", "event_id", SYNTHETIC_ATTRIBUTE})


class MalformedEventError(ValueError):
    """A message body that is not an event. Its text is ours, never the body's: it is logged."""


@dataclass(frozen=True)
class Event:
    """An event with the trace context of the code that created it.

    The context is captured at creation, inside the request, so an event published later
    (from the outbox, after a restart) still continues the request's trace; so is whether the
    request was synthetic, for the worker to mark what it does with the event.
    """

    type: str
    data: Mapping[str, str]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=utc_now)
    trace_context: Mapping[str, str] = field(default_factory=trace_context_headers)
    synthetic: bool = field(default_factory=synthetic_work.is_synthetic)

    def body(self) -> str:
        return json.dumps(
            {"id": self.id, "type": self.type, "occurred_at": self.occurred_at, "data": self.data},
            separators=(",", ":"),
        )

    def message_attributes(self) -> dict[str, "MessageAttributeValueTypeDef"]:
        # SQS allows 10 attributes: event_type, event_id, synthetic and 2-3 propagation headers.
        values = {"event_type": self.type, "event_id": self.id, **self.trace_context}
        if self.synthetic:
            values[SYNTHETIC_ATTRIBUTE] = "true"
        return {
            name: {"DataType": "String", "StringValue": value} for name, value in values.items()
        }

    @classmethod
    def from_message(cls, body: str, attributes: Mapping[str, str]) -> "Event":
        """The event an SQS message carries: the inverse of ``body()`` and
        ``message_attributes()`` (the attributes as strings). Anything else in the body, however
        deep or broken, raises MalformedEventError."""
        try:
            fields = json.loads(body)
        except RecursionError:  # JSON nested deeper than the interpreter's stack
            raise MalformedEventError("the body is nested too deeply") from None
        except ValueError:
            raise MalformedEventError("the body is not JSON") from None
        if not isinstance(fields, dict):
            raise MalformedEventError("the body is not a JSON object")
        for name in ("id", "type", "occurred_at"):
            if not isinstance(fields.get(name), str):
                raise MalformedEventError(f"the body's {name!r} is missing or not a string")
        data = fields.get("data")
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise MalformedEventError("the body's 'data' is missing or not an object of strings")
        return cls(
            type=fields["type"],
            data=data,
            id=fields["id"],
            occurred_at=fields["occurred_at"],
            trace_context={k: v for k, v in attributes.items() if k not in EVENT_ATTRIBUTES},
            synthetic=is_synthetic_message(attributes),
        )

    def to_json(self) -> str:
        """Everything needed to publish it again, as stored in the outbox."""
        stored = {**json.loads(self.body()), "trace_context": self.trace_context}
        if self.synthetic:
            stored["synthetic"] = True
        return json.dumps(stored)

    @classmethod
    def from_json(cls, text: str) -> "Event":
        stored: dict[str, Any] = json.loads(text)
        return cls(
            type=stored["type"],
            data=stored["data"],
            id=stored["id"],
            occurred_at=stored["occurred_at"],
            trace_context=stored.get("trace_context", {}),
            synthetic=stored.get("synthetic") is True,
        )


def received_attributes(message: "MessageTypeDef") -> dict[str, str]:
    """A received SQS message's attributes as strings, as ``Event.from_message`` reads them:
    the inverse of ``Event.message_attributes()``."""
    return {
        name: value.get("StringValue", "")
        for name, value in message.get("MessageAttributes", {}).items()
    }


def is_synthetic_message(attributes: Mapping[str, str]) -> bool:
    """Whether an SQS message's attributes (as strings) mark a synthetic request's event."""
    return attributes.get(SYNTHETIC_ATTRIBUTE) == "true"
