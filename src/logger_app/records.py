"""Patient-doctor interaction records: key ``id`` (partition) and ``timestamp`` (sort).

A record is bound to its patient inside the write's one transaction, by conditions, with no
read before it: the patient must have signed up (a condition check on the patient item), and
every item of an interaction belongs to the patient of its first item (an owner item per
interaction in the patients table, ``interaction#<id>``, written with the interaction's first
item and, for each later item, only if its patient is the same). A synthetic request's record
and owner item expire (``expires_at``); a patient's never do.
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from logger_app import audit, idempotency, keys, metrics, synthetic, transactions
from logger_app.aws import AwsClients
from logger_app.clock import utc_now
from logger_app.events import RECORD_CREATED, Event
from logger_app.outbox_write import OutboxWrite
from logger_app.problems import Problem
from logger_app.schemas import Record, RecordRequest

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef

logger = logging.getLogger(__name__)

# The problem types (by slug) of the refusals of a record write or read.
PATIENT_NOT_FOUND = "patient-not-found"
INTERACTION_OF_ANOTHER_PATIENT = "interaction-of-another-patient"
RECORD_ID_TAKEN = "record-id-taken"
RECORD_NOT_FOUND = "record-not-found"
# The record outcome of each answer that is not a success: a clash is told apart from the
# other refusals, for staff; anything else under 500 is rejected, the rest failed.
_PROBLEM_OUTCOMES = {RECORD_ID_TAKEN: metrics.CLASH}
# The transaction's items, by position (the cancellation reasons are read by position).
_RECORD, _INTERACTION, _PATIENT, _OUTBOX, _KEY = range(5)


@dataclass(frozen=True)
class RecordResult:
    record: Record
    replayed: bool


class RecordService:
    def __init__(
        self,
        clients: AwsClients,
        table: str,
        patients_table: str,
        writes: OutboxWrite,
        clock: Callable[[], str] = utc_now,
    ) -> None:
        """``clock`` gives each new record's timestamp (the server's time; a test's own)."""
        self._clients = clients
        self._table = table
        self._patients_table = patients_table
        self._writes = writes
        self._clock = clock

    async def create(self, request: RecordRequest, client_id: str, key: str | None) -> RecordResult:
        """Every record write is counted here, once, by how it ended."""
        outcome = metrics.FAILED
        try:
            result = await self._create(request, client_id, key)
            outcome = metrics.REPLAYED if result.replayed else metrics.CREATED
            return result
        except Problem as problem:
            if problem.status < 500:
                outcome = _PROBLEM_OUTCOMES.get(problem.slug, metrics.REJECTED)
            raise
        finally:
            metrics.records.add(
                1, {"kind": request.kind.value, "outcome": outcome, **metrics.traffic()}
            )

    async def _create(
        self, request: RecordRequest, client_id: str, key: str | None
    ) -> RecordResult:
        request_id = str(uuid.uuid4())
        record = Record(
            id=request.id or uuid.uuid4(),
            timestamp=self._clock(),
            patient_id=request.patient_id,
            doctor_id=request.doctor_id,
            kind=request.kind,
            details=request.details,
        )
        event = Event(
            RECORD_CREATED,
            {
                "id": str(record.id),
                "timestamp": record.timestamp,
                "kind": record.kind.value,
                "patient_id": str(record.patient_id),
                "doctor_id": record.doctor_id,
            },
        )
        cancelled = await self._writes.commit(
            self._items(record, client_id, request_id),
            event,
            request_id,
            key=None
            if key is None
            else idempotency.put_key(
                self._patients_table, client_id, key, audit.RECORD_CREATE, request, record
            ),
            # An item at this id and timestamp stored by this request: an earlier attempt of
            # this same call committed, and only its answer was lost.
            committed=lambda cancelled: (
                transactions.stored_request_id(cancelled.item(_RECORD)) == request_id
            ),
        )
        if cancelled is not None:
            return self._on_conflict(cancelled, request, key)

        logger.info(
            "record created",
            extra={
                "event": "record.created",
                "record_id": str(record.id),
                "kind": record.kind.value,
            },
        )
        return RecordResult(record, replayed=False)

    def _items(
        self, record: Record, client_id: str, request_id: str
    ) -> list["TransactWriteItemTypeDef"]:
        """The record, its interaction's owner and the patient's check (the outbox entry and
        the key follow: OutboxWrite)."""
        patient_id = {"S": str(record.patient_id)}
        return [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        **_to_item(record),
                        "audit": audit.stored_record(audit.RECORD_CREATE, client_id, request_id),
                        **synthetic.expiry(),
                    },
                    "ConditionExpression": "attribute_not_exists(id)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Put": {
                    "TableName": self._patients_table,
                    "Item": {
                        "pk": {"S": keys.interaction(record.id)},
                        "patient_id": patient_id,
                        **synthetic.expiry(),
                    },
                    "ConditionExpression": "attribute_not_exists(pk) OR patient_id = :patient",
                    "ExpressionAttributeValues": {":patient": patient_id},
                }
            },
            {
                "ConditionCheck": {
                    "TableName": self._patients_table,
                    "Key": {"pk": {"S": keys.patient(record.patient_id)}},
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
        ]

    def _on_conflict(
        self, cancelled: transactions.Cancelled, request: RecordRequest, key: str | None
    ) -> RecordResult:
        if key is not None and cancelled.failed(_KEY):
            answer = idempotency.first_answer(cancelled.item(_KEY), audit.RECORD_CREATE, request)
            logger.info("record replayed", extra={"event": "record.replayed"})
            return RecordResult(Record.model_validate_json(answer), replayed=True)
        if cancelled.failed(_PATIENT):
            logger.info("record for an unknown patient", extra={"event": "record.unknown_patient"})
            raise Problem(
                422,
                PATIENT_NOT_FOUND,
                "Unknown patient",
                f"No patient {request.patient_id} has signed up.",
            )
        if cancelled.failed(_INTERACTION):
            logger.info(
                "record for another patient's interaction",
                extra={"event": "record.other_patient"},
            )
            raise Problem(
                409,
                INTERACTION_OF_ANOTHER_PATIENT,
                "Interaction of another patient",
                f"Interaction {request.id} belongs to another patient; a record keeps the "
                "patient of its interaction's first record.",
            )
        # The only other condition: a new id and timestamp. A clash is the caller's to resolve
        # (a retry gets a new timestamp), not an outage: never AwsUnavailableError.
        logger.info("record id and timestamp taken", extra={"event": "record.id_taken"})
        raise Problem(
            409,
            RECORD_ID_TAKEN,
            "Record id and timestamp taken",
            f"A record with id {request.id} and this timestamp is already stored; send it again "
            "to get a new timestamp.",
        )

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
            metrics.record_lookups.add(1, {"outcome": metrics.NOT_FOUND, **metrics.traffic()})
            logger.info("record not found", extra={"event": "record.not_found"})
            raise Problem(404, RECORD_NOT_FOUND, "Record not found", detail)
        metrics.record_lookups.add(1, {"outcome": metrics.FOUND, **metrics.traffic()})
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
    """The record's own fields (its audit record stays in the table)."""
    return Record.model_validate(
        {name: item[name]["S"] for name in Record.model_fields if name in item}
    )
