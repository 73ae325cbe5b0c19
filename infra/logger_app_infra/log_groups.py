"""CloudWatch log groups encrypted with a per-stack customer key (PHI may appear in logs)."""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

_KEY_ID = "LogsKey"


def log_group_arn(stack: Stack, name: str) -> str:
    """A log group's ARN as CloudWatch Logs spells it: `log-group:<name>`, with a colon (the
    format_arn default, `log-group/<name>`, names no log group). `*` for every group."""
    return stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def logs_key(stack: Stack) -> kms.Key:
    """One key per stack for its log groups, created on first use."""
    existing = stack.node.try_find_child(_KEY_ID)
    if isinstance(existing, kms.Key):
        return existing
    key = kms.Key(
        stack,
        _KEY_ID,
        description=f"Encrypts the CloudWatch log groups of {stack.stack_name}",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.RETAIN,
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchLogs",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            resources=["*"],
            # CloudWatch Logs names the log group in the encryption context of every use.
            conditions={
                "ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_group_arn(stack, "*")}
            },
        )
    )
    return key


def encrypted_log_group(
    scope: Construct,
    construct_id: str,
    *,
    retention: logs.RetentionDays,
    log_group_name: str | None = None,
) -> logs.LogGroup:
    """A log group under the stack's key; a fixed name only where a service demands one."""
    stack = Stack.of(scope)
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=log_group_name,
        encryption_key=logs_key(stack),
        retention=retention,
        removal_policy=RemovalPolicy.RETAIN,
    )
