"""Data: the service's DynamoDB tables and SQS queues, under one customer key, backed up."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from . import removal
from .config import DeploymentConfig
from .nag import suppress

# The Settings defaults `logger-app bootstrap` creates local queues with (a test compares them).
# The worker reads the receive limit from the queue's redrive policy.
DLQ_MAX_RECEIVE_COUNT = 5
VISIBILITY_TIMEOUT_SECONDS = 30
EXPIRES_AT = "expires_at"


class DataStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeploymentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prod = config.is_production
        # Patient data, under fixed names: kept when the stack goes away (removal.py).
        kept = removal.data(config, named=True)
        name = f"logger-app-{config.environment}"

        self.key = kms.Key(
            self,
            "DataKey",
            alias=f"alias/{name}-data",
            description="Encrypts logger-app tables, queues and their backups",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

        def table(
            construct_id: str,
            suffix: str,
            partition_key: str,
            sort_key: str | None = None,
            ttl: str | None = None,
        ) -> dynamodb.Table:
            return dynamodb.Table(
                self,
                construct_id,
                table_name=f"{name}-{suffix}",
                partition_key=dynamodb.Attribute(
                    name=partition_key, type=dynamodb.AttributeType.STRING
                ),
                sort_key=(
                    dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING)
                    if sort_key
                    else None
                ),
                time_to_live_attribute=ttl,
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
                encryption_key=self.key,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                deletion_protection=prod,
                removal_policy=kept,
            )

        # Records; only a synthetic journey's (logger-app verify) carry expires_at.
        self.records_table = table(
            "RecordsTable", "records", "id", sort_key="timestamp", ttl=EXPIRES_AT
        )
        # Patients, e-mail guards and idempotency keys (these expire).
        self.patients_table = table("PatientsTable", "patients", "pk", ttl=EXPIRES_AT)
        # Events awaiting publication and the worker's processed markers (these expire).
        self.outbox_table = table("OutboxTable", "outbox", "pk", sort_key="sk", ttl=EXPIRES_AT)

        self.dead_letter_queue = sqs.Queue(
            self,
            "EventsDeadLetterQueue",
            queue_name=f"{name}-events-dlq",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=kept,
        )
        self.queue = sqs.Queue(
            self,
            "EventsQueue",
            queue_name=f"{name}-events",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=Duration.days(4),
            visibility_timeout=Duration.seconds(VISIBILITY_TIMEOUT_SECONDS),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=DLQ_MAX_RECEIVE_COUNT
            ),
            removal_policy=kept,
        )

        vault = backup.BackupVault(
            self,
            "BackupVault",
            encryption_key=self.key,
            # Named after its construct path: a retained vault would block the retry.
            removal_policy=removal.NAMED,
        )
        plan = (
            backup.BackupPlan.daily_weekly_monthly5_year_retention(self, "BackupPlan", vault)
            if prod
            else backup.BackupPlan.daily35_day_retention(self, "BackupPlan", vault)
        )
        selection = plan.add_selection(
            "Tables",
            resources=[
                backup.BackupResource.from_dynamo_db_table(self.records_table),
                backup.BackupResource.from_dynamo_db_table(self.patients_table),
                backup.BackupResource.from_dynamo_db_table(self.outbox_table),
            ],
        )
        suppress(
            selection,
            "AwsSolutions-IAM4",
            "AWS Backup's own service role policy, which AWS maintains for backup jobs.",
            applies_to=[
                "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSBackupServiceRolePolicyForBackup"
            ],
        )
