"""Data: the tables `logger-app bootstrap` creates, the queue and its DLQ, all encrypted."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from infra_helpers import resources, template
from logger_app_infra.app_builder import LoggerAppStacks


def _table(stack: Stack, construct: Any) -> dict[str, Any]:
    props: dict[str, Any] = resources(stack, "AWS::DynamoDB::Table")[
        stack.get_logical_id(construct.node.default_child)
    ]["Properties"]
    return props


def test_records_table_keys_match_bootstrap(prod: LoggerAppStacks) -> None:
    table = _table(prod.data, prod.data.records_table)
    assert table["KeySchema"] == [
        {"AttributeName": "id", "KeyType": "HASH"},
        {"AttributeName": "timestamp", "KeyType": "RANGE"},
    ]
    assert {"AttributeName": "id", "AttributeType": "S"} in table["AttributeDefinitions"]
    assert {"AttributeName": "timestamp", "AttributeType": "S"} in table["AttributeDefinitions"]


def test_patients_table_keys_match_bootstrap(prod: LoggerAppStacks) -> None:
    table = _table(prod.data, prod.data.patients_table)
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]


def test_outbox_table_keys_match_bootstrap(prod: LoggerAppStacks) -> None:
    table = _table(prod.data, prod.data.outbox_table)
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]


def test_idempotency_keys_markers_and_synthetic_records_expire(prod: LoggerAppStacks) -> None:
    # The records table's TTL removes only what carries expires_at: logger-app verify's records.
    for construct in (prod.data.patients_table, prod.data.outbox_table, prod.data.records_table):
        assert _table(prod.data, construct)["TimeToLiveSpecification"] == {
            "AttributeName": "expires_at",
            "Enabled": True,
        }


def test_tables_are_on_demand_encrypted_recoverable_and_protected_in_prod(
    prod: LoggerAppStacks,
) -> None:
    tables = resources(prod.data, "AWS::DynamoDB::Table")
    assert len(tables) == 3
    for table in tables.values():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert props["SSESpecification"]["SSEType"] == "KMS"
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["DeletionProtectionEnabled"] is True
        assert table["DeletionPolicy"] == "RetainExceptOnCreate"


def test_dev_tables_have_no_deletion_protection(dev: LoggerAppStacks) -> None:
    for table in resources(dev.data, "AWS::DynamoDB::Table").values():
        assert table["Properties"]["DeletionProtectionEnabled"] is False


def test_queue_redrives_to_dlq_after_five_receives(prod: LoggerAppStacks) -> None:
    queue = resources(prod.data, "AWS::SQS::Queue")[
        prod.data.get_logical_id(prod.data.queue.node.default_child)
    ]["Properties"]
    dlq_id = prod.data.get_logical_id(prod.data.dead_letter_queue.node.default_child)
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 5,
    }
    assert queue["QueueName"] == "logger-app-prod-events"
    assert queue["VisibilityTimeout"] == 30  # the worker's visibility timeout


def test_both_queues_use_the_data_key_and_refuse_plain_http(prod: LoggerAppStacks) -> None:
    key_id = prod.data.get_logical_id(prod.data.key.node.default_child)
    queues = resources(prod.data, "AWS::SQS::Queue")
    assert len(queues) == 2
    for queue in queues.values():
        assert queue["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    denied = set()
    for policy in resources(prod.data, "AWS::SQS::QueuePolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement.get("Condition") == {
                "Bool": {"aws:SecureTransport": "false"}
            }:
                denied.update(q["Ref"] for q in policy["Properties"]["Queues"])
    assert denied == set(queues)


def test_data_key_rotates(prod: LoggerAppStacks) -> None:
    template(prod.data).has_resource_properties(
        "AWS::KMS::Key",
        {
            "EnableKeyRotation": True,
            "Description": "Encrypts logger-app tables, queues and their backups",
        },
    )


def test_all_tables_are_in_the_backup_plan(prod: LoggerAppStacks) -> None:
    selection = next(iter(resources(prod.data, "AWS::Backup::BackupSelection").values()))
    listed = selection["Properties"]["BackupSelection"]["Resources"]
    for table in (prod.data.records_table, prod.data.patients_table, prod.data.outbox_table):
        table_id = prod.data.get_logical_id(table.node.default_child)
        assert {"Fn::GetAtt": [table_id, "Arn"]} in listed
