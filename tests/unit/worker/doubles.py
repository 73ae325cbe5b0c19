"""Stand-ins for the worker's SQS and DynamoDB clients: each records the calls it was given."""

import json
from typing import Any


class RecordingSqs:
    """A queue holding ``messages`` until received once; the receive limit is ``limit``."""

    def __init__(self, messages: list[dict[str, Any]], limit: int = 3) -> None:
        self.messages = messages
        self.limit = limit
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _record(self, name: str, kwargs: dict[str, Any]) -> None:
        self.calls.append((name, kwargs))

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        self._record("receive_message", kwargs)
        batch, self.messages = self.messages, []
        return {"Messages": batch}

    def delete_message(self, **kwargs: Any) -> dict[str, Any]:
        self._record("delete_message", kwargs)
        return {}

    def change_message_visibility(self, **kwargs: Any) -> dict[str, Any]:
        self._record("change_message_visibility", kwargs)
        return {}

    def change_message_visibility_batch(self, **kwargs: Any) -> dict[str, Any]:
        self._record("change_message_visibility_batch", kwargs)
        return {}

    def get_queue_url(self, **kwargs: Any) -> dict[str, Any]:
        self._record("get_queue_url", kwargs)
        return {"QueueUrl": f"https://sqs.example/{kwargs['QueueName']}"}

    def get_queue_attributes(self, **kwargs: Any) -> dict[str, Any]:
        self._record("get_queue_attributes", kwargs)
        return {
            "Attributes": {
                "RedrivePolicy": json.dumps(
                    {"maxReceiveCount": self.limit, "deadLetterTargetArn": "arn:aws:sqs:x:1:dlq"}
                ),
                "ApproximateNumberOfMessages": "7",
            }
        }

    def called(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for called, kwargs in self.calls if called == name]


class RecordingDynamodb:
    def __init__(self) -> None:
        self.transactions: list[list[dict[str, Any]]] = []

    def transact_write_items(self, **kwargs: Any) -> dict[str, Any]:
        self.transactions.append(kwargs["TransactItems"])
        return {}
