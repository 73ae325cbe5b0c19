"""cdk-nag: the rule packs every stack is checked against, and suppressions with reasons."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NagPackSuppression, NagSuppressions
from constructs import IConstruct

INLINE_POLICY_REASON = (
    "CDK renders each role's grants as a policy attached to that role only, each statement "
    "scoped to the role's own resources; a customer-managed policy would add no control."
)


def apply_checks(app: cdk.App) -> None:
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    cdk.Aspects.of(app).add(HIPAASecurityChecks(verbose=True))


def suppress(
    construct: IConstruct, rule: str, reason: str, *, applies_to: Sequence[str] = ()
) -> None:
    """Suppress one rule on a construct and its children, for the reason given."""
    NagSuppressions.add_resource_suppressions(
        construct,
        [NagPackSuppression(id=rule, reason=reason, applies_to=list(applies_to) or None)],
        apply_to_children=True,
    )


def suppress_inline_policies(stack: cdk.Stack) -> None:
    NagSuppressions.add_stack_suppressions(
        stack,
        [NagPackSuppression(id="HIPAA.Security-IAMNoInlinePolicy", reason=INLINE_POLICY_REASON)],
    )


def suppress_task_definition_findings(task_definition: cdk.aws_ecs.TaskDefinition) -> None:
    """Findings every task definition here shares, and why they are accepted."""
    suppress(
        task_definition,
        "AwsSolutions-ECS2",
        "Environment variables carry only non-secret configuration (resource names, endpoints, "
        "OpenTelemetry settings); secrets come from Secrets Manager through `secrets`.",
    )
    if task_definition.execution_role is not None:
        suppress(
            task_definition.execution_role,
            "AwsSolutions-IAM5",
            "ecr:GetAuthorizationToken, added by CDK for the image pull, has no resource-level "
            "permissions; layer and image reads are limited to the task's repositories.",
            applies_to=["Resource::*"],
        )


# CDK's fixed id of the AwsCustomResource singleton function (aws-cdk-lib custom-resources).
SECRET_READER_ID = "AWS679f53fac002430cb0da5b7982bd2287"


def explain_client_secret_reader(stack: cdk.Stack, reads: str) -> None:
    """UserPoolClient.user_pool_client_secret reads the secret with CDK's AwsCustomResource: a
    singleton Lambda function at the stack's root, run by CloudFormation on deploy only."""
    reader = stack.node.try_find_child(SECRET_READER_ID)
    if reader is None:
        return
    why = (
        f"CDK's AwsCustomResource singleton that reads {reads} once per deploy; it is "
        "invoked by CloudFormation only and handles no patient data."
    )
    for rule, detail in (
        ("AwsSolutions-IAM4", "AWSLambdaBasicExecutionRole only lets it write its logs."),
        ("HIPAA.Security-LambdaConcurrency", "It runs once per deploy."),
        (
            "HIPAA.Security-LambdaDLQ",
            "CloudFormation invokes it synchronously and "
            "reports a failure as a failed deploy; there is no asynchronous event to keep.",
        ),
        ("HIPAA.Security-LambdaInsideVPC", "It calls the public Cognito API only."),
        (
            "HIPAA.Security-CloudWatchLogGroupEncrypted",
            "Its log holds the call's metadata; "
            "CDK does not expose the log group's key for this singleton.",
        ),
    ):
        suppress(reader, rule, f"{why} {detail}")
