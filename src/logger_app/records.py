"""Patient-doctor interaction records: key ``id`` (partition) and ``timestamp`` (sort)."""

import logging
import uuid
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from logger_app import metrics
from logger_app.aws import AwsClients, AwsUnavailableError
from logger_app.clock import utc_now
from logger_app.events import Event
from logger_app.outbox import Outbox
from logger_app.problems import Problem
from logger_app.publisher import EventPublisher
from logger_app.schemas import Record, RecordRequest

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

logger = logging.getLogger(__name__)


class RecordService:
    def __init__(
        self, clients: AwsClients, table: str, outbox: Outbox, publisher: EventPublisher
    ) -> None:
        self._clients = clients
        self._table = table
        self._outbox = outbox
        self._publisher = publisher

    async def create(self, request: RecordRequest) -> Record:
        record = Record(
            id=request.id or uuid.uuid4(),
            timestamp=utc_now(),
            patient_id=request.patient_id,
            doctor_id=request.doctor_id,
            kind=request.kind,
            details=request.details,
        )
        event = Event(
            "record.created",
            {
                "id": str(record.id),
                "timestamp": record.timestamp,
                "kind": record.kind.value,
                "patient_id": str(record.patient_id),
                "doctor_id": record.doctor_id,
            },
        )
        outcome = "failed"
        try:
            await self._clients.call(
                "DynamoDB",
                self._clients.dynamodb.transact_write_items,
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": _to_item(record),
                            "ConditionExpression": "attribute_not_exists(id)",
                        }
                    },
                    self._outbox.put(event),
                ],
            )
            outcome = "created"
        except ClientError as error:
            # The only condition: a new id and timestamp. On a clash, a retry gets a new one.
            raise AwsUnavailableError("DynamoDB") from error
        finally:
            metrics.records.add(1, {"kind": record.kind.value, "outcome": outcome})

        logger.info(
            "record created",
            extra={
                "event": "record.created",
                "record_id": str(record.id),
                "kind": record.kind.value,
            },
        )
        self._publisher.submit(event)  # answered now; the event follows in a batch
        return record

    async def newest(self, record_id: uuid.UUID) -> Record:
        response = await self._clients.call(
            "DynamoDB",
            self._clients.dynamodb.query,
            TableName=self._table,
            KeyConditionExpression="id = :id",
            ExpressionAttributeValues={":id": {"S": str(record_id)}},
            ScanIndexForward=False,
            Limit=1,
        )
        items = response.get("Items", [])
        return self._found(items[0] if items else None, f"No record with id {record_id}.")

    async def at(self, record_id: uuid.UUID, timestamp: str) -> Record:
        response = await self._clients.call(
            "DynamoDB",
            self._clients.dynamodb.get_item,
            TableName=self._table,
            Key={"id": {"S": str(record_id)}, "timestamp": {"S": timestamp}},
        )
        return self._found(response.get("Item"), f"No record with id {record_id} at {timestamp}.")

    def _found(self, item: "dict[str, AttributeValueTypeDef] | None", detail: str) -> Record:
        if item is None:
            metrics.record_lookups.add(1, {"outcome": "not_found"})
            logger.info("record not found", extra={"event": "record.not_found"})
            raise Problem(404, "record-not-found", "Record not found", detail)
        metrics.record_lookups.add(1, {"outcome": "found"})
        return _from_item(item)


def _to_item(record: Record) -> "dict[str, AttributeValueTypeDef]":
    item: dict[str, AttributeValueTypeDef] = {
        "id": {"S": str(record.id)},
        "timestamp": {"S": record.timestamp},
        "patient_id": {"S": str(record.patient_id)},
        "doctor_id": {"S": record.doctor_id},
        "kind": {"S": record.kind.value},
    }
    if record.details is not None:
        item["details"] = {"S": record.details}
    return item


def _from_item(item: "dict[str, AttributeValueTypeDef]") -> Record:
    return Record.model_validate({name: value["S"] for name, value in item.items() if "S" in value})
