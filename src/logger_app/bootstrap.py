"""Create the tables and queues the service needs (locally and in tests; CDK does it on AWS)."""

import json
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import ClientError

from logger_app import keys
from logger_app.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def bootstrap(settings: Settings, endpoint_url: str | None = None) -> str:
    """Create what is missing and return the queue URL. Safe to run again."""
    session = boto3.session.Session(region_name=settings.region)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
    sqs = session.client("sqs", endpoint_url=endpoint_url)

    _create_table(dynamodb, settings.records_table, keys.RECORDS_KEY)
    _create_table(dynamodb, settings.patients_table, keys.PATIENTS_KEY)
    _create_table(dynamodb, settings.outbox_table, keys.OUTBOX_KEY)
    tables = (settings.records_table, settings.patients_table, settings.outbox_table)
    for table in tables:
        _expire_items(dynamodb, table)

    dead_letters = sqs.create_queue(QueueName=settings.dead_letter_queue_name)["QueueUrl"]
    dead_letters_arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = {
        "deadLetterTargetArn": dead_letters_arn,
        "maxReceiveCount": str(settings.max_receive_count),
    }
    return sqs.create_queue(
        QueueName=settings.queue_name,
        Attributes={
            "RedrivePolicy": json.dumps(redrive),
            "VisibilityTimeout": str(settings.worker_visibility_timeout_seconds),
        },
    )["QueueUrl"]


def _create_table(dynamodb: "DynamoDBClient", name: str, key: keys.KeySchema) -> None:
    try:
        dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": attribute, "AttributeType": "S"} for attribute, _ in key
            ],
            KeySchema=[{"AttributeName": attribute, "KeyType": role} for attribute, role in key],
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise
    dynamodb.get_waiter("table_exists").wait(TableName=name)


def _expire_items(dynamodb: "DynamoDBClient", table: str) -> None:
    """Idempotency keys, processed-event markers and what synthetic requests store (records
    included) carry ``expires_at`` (epoch seconds)."""
    try:
        dynamodb.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ValidationException":  # already enabled
            raise
