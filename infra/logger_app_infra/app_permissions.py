"""What each logger-app process may do in AWS: per table and queue, the actions its code calls.

TransactWriteItems is authorised per item action (a Put into a table needs PutItem on it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs


class Process(Enum):
    API = "api"  # `logger-app serve`
    WORKER = "worker"  # `logger-app worker`


@dataclass(frozen=True)
class AppResources:
    """The AWS resources the processes use; task roles name exactly these."""

    records_table_name: str
    records_table_arn: str
    patients_table_name: str
    patients_table_arn: str
    outbox_table_name: str
    outbox_table_arn: str
    queue_name: str
    queue_url: str
    queue_arn: str
    dead_letter_queue_arn: str
    data_key_arn: str
    amp_workspace_arn: str
    amp_remote_write_url: str
    loki_host: str
    loki_port: int


# table -> DynamoDB actions, per process.
TABLE_ACTIONS: dict[Process, dict[str, list[str]]] = {
    Process.API: {
        "records": [
            "dynamodb:ConditionCheckItem",
            "dynamodb:DescribeTable",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        ],
        "patients": [
            "dynamodb:ConditionCheckItem",
            "dynamodb:DescribeTable",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        ],
        # Events written in the same transaction as the data, published, then deleted in
        # batches (BatchWriteItem of DeleteRequests; SendMessageBatch is sqs:SendMessage).
        "outbox": ["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:Query"],
    },
    Process.WORKER: {
        # Processed-event markers (conditional put) and the effects on patients.
        "outbox": ["dynamodb:PutItem"],
        "patients": ["dynamodb:UpdateItem"],
    },
}
QUEUE_ACTIONS: dict[Process, list[str]] = {
    Process.API: ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
    Process.WORKER: [
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
    ],
}
KMS_DATA_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
# Used by the ADOT sidecar; X-Ray has no resource-level permissions for these.
XRAY_WRITE_ACTIONS = [
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
]


# The log router's cloudwatch_logs output creates its stream per task, then puts events; the log
# group is created (encrypted, with its retention) by infra, never by the router.
DURABLE_LOG_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]


def durable_log_statement(log_group: logs.ILogGroup) -> iam.PolicyStatement:
    # log_group_arn ends in ":*", which covers the group's streams and nothing else.
    return iam.PolicyStatement(
        sid="DurableLogCopy", actions=DURABLE_LOG_ACTIONS, resources=[log_group.log_group_arn]
    )


def task_role_statements(
    process: Process, resources: AppResources, region: str
) -> list[iam.PolicyStatement]:
    table_arns = {
        "records": resources.records_table_arn,
        "patients": resources.patients_table_arn,
        "outbox": resources.outbox_table_arn,
    }
    statements = [
        iam.PolicyStatement(
            sid=f"{table.title()}Table",
            actions=actions,
            resources=[table_arns[table]],
        )
        for table, actions in TABLE_ACTIONS[process].items()
    ]
    if process is Process.WORKER:
        # The dead-letter queue's depth, for the gauge the dashboards and alerts read.
        statements.append(
            iam.PolicyStatement(
                sid="DeadLetterQueueDepth",
                actions=["sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
                resources=[resources.dead_letter_queue_arn],
            )
        )
    statements += [
        iam.PolicyStatement(
            sid="Queue", actions=QUEUE_ACTIONS[process], resources=[resources.queue_arn]
        ),
        iam.PolicyStatement(
            sid="DataKeyViaTablesAndQueue",
            actions=KMS_DATA_ACTIONS,
            resources=[resources.data_key_arn],
            conditions={
                "StringEquals": {
                    "kms:ViaService": [
                        f"dynamodb.{region}.amazonaws.com",
                        f"sqs.{region}.amazonaws.com",
                    ]
                }
            },
        ),
        iam.PolicyStatement(
            sid="PrometheusRemoteWrite",
            actions=["aps:RemoteWrite"],
            resources=[resources.amp_workspace_arn],
        ),
        iam.PolicyStatement(sid="XRayWrite", actions=XRAY_WRITE_ACTIONS, resources=["*"]),
    ]
    return statements
