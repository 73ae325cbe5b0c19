"""What each event type does, as a registry ``{event type: effect}``: a sign-up marks the
patient welcomed; a record counts the doctor's interactions by kind.

An effect returns the DynamoDB writes it makes, given the event's data; the worker commits them
in one transaction with the event's processed marker. A key the data lacks raises KeyError (the
worker reports the event as poison, naming the key); an effect refuses anything else it cannot
write with PoisonEventError.
"""

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from logger_app import keys, synthetic
from logger_app.clock import utc_now
from logger_app.events import PATIENT_SIGNED_UP, RECORD_CREATED
from logger_app.schemas import RecordKind
from logger_app.worker.failures import PoisonEventError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef

Effect = Callable[[Mapping[str, str]], list["TransactWriteItemTypeDef"]]
# An attribute name the effect writes on the doctor's item: only the kinds the API accepts.
RECORD_KINDS = frozenset(kind.value for kind in RecordKind)


def default_effects(patients_table: str) -> dict[str, Effect]:
    return {
        PATIENT_SIGNED_UP: welcome_patient(patients_table),
        RECORD_CREATED: count_doctor_interaction(patients_table),
    }


def welcome_patient(table: str) -> Effect:
    def effect(data: Mapping[str, str]) -> list["TransactWriteItemTypeDef"]:
        return [
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": {"S": keys.patient(data["patient_id"])}},
                    "UpdateExpression": "SET welcomed_at = :now",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": {":now": {"S": utc_now()}},
                }
            }
        ]

    return effect


def count_doctor_interaction(table: str) -> Effect:
    def effect(data: Mapping[str, str]) -> list["TransactWriteItemTypeDef"]:
        if data["kind"] not in RECORD_KINDS:
            raise PoisonEventError("unknown record kind")
        expression = "ADD #kind :one"
        names = {"#kind": data["kind"]}
        values: dict[str, AttributeValueTypeDef] = {":one": {"N": "1"}}
        if synthetic.is_synthetic():  # a made-up doctor's counts expire with its records
            expression += " SET #expires = :expires"
            names["#expires"] = synthetic.EXPIRES_AT
            values[":expires"] = {"N": synthetic.expires_at()}
        return [
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": {"S": keys.doctor(data["doctor_id"])}},
                    "UpdateExpression": expression,
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            }
        ]

    return effect
