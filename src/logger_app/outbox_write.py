"""The outbox write, as sign-ups and records make it: one transaction carrying the written
items and the event's outbox entry, then, once committed, the event handed to the publisher
(which sends it in a batch; the outbox keeps it until SQS has it)."""

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from logger_app import transactions
from logger_app.aws import AwsClients
from logger_app.events import Event
from logger_app.outbox import Outbox
from logger_app.publisher import EventPublisher

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


class OutboxWrite:
    def __init__(self, clients: AwsClients, outbox: Outbox, publisher: EventPublisher) -> None:
        self._clients = clients
        self._outbox = outbox
        self._publisher = publisher

    async def commit(
        self,
        items: Sequence["TransactWriteItemTypeDef"],
        event: Event,
        request_id: str,
        *,
        key: "TransactWriteItemTypeDef | None",
        committed: Callable[[transactions.Cancelled], bool],
    ) -> transactions.Cancelled | None:
        """Write ``items``, the event's outbox entry and the idempotency ``key`` (when given),
        in that order (the cancellation reasons are read by position), and submit the event
        once committed: None then, else the cancellation.

        ``committed`` tells, from a cancellation, that an earlier attempt of this same call
        committed and only its answer was lost (transactions.py): the event is submitted then.
        """
        cancelled = await transactions.write(
            self._clients,
            [*items, self._outbox.put(event), *([key] if key is not None else [])],
            request_id,
        )
        if cancelled is not None and not committed(cancelled):
            return cancelled
        self._publisher.submit(event)  # answered now; the event follows in a batch
        return None
