"""The scoped CloudFormation execution policy for `cdk bootstrap` (instead of
AdministratorAccess) covers every resource the stacks create, and IAM only for their own roles
and GitHub's OIDC provider."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from infra_helpers import template
from logger_app_infra.app_builder import LoggerAppStacks

POLICY = Path(__file__).resolve().parents[1] / "bootstrap" / "cloudformation-execution-policy.json"
# CloudFormation namespace -> IAM service prefix, where they differ.
PREFIX = {
    "EC2": "ec2",
    "ECS": "ecs",
    "ECR": "ecr",
    "EFS": "elasticfilesystem",
    "ElasticLoadBalancingV2": "elasticloadbalancing",
    "ApplicationAutoScaling": "application-autoscaling",
    "CloudWatch": "cloudwatch",
    "Cognito": "cognito-idp",
    "DynamoDB": "dynamodb",
    "SQS": "sqs",
    "SNS": "sns",
    "WAFv2": "wafv2",
    "KMS": "kms",
    "S3": "s3",
    "Logs": "logs",
    "SecretsManager": "secretsmanager",
    "ServiceDiscovery": "servicediscovery",
    "Route53": "route53",
    "APS": "aps",
    "Backup": "backup",
    "Lambda": "lambda",
    "IAM": "iam",
}


def _statements() -> dict[str, dict]:  # type: ignore[type-arg]
    document = json.loads(POLICY.read_text(encoding="utf-8"))
    return {s["Sid"]: s for s in document["Statement"]}


def _actions(statement: dict) -> list[str]:  # type: ignore[type-arg]
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


@pytest.mark.parametrize("config", ["prod", "dev", "public"])
def test_every_resource_type_is_covered(config: str, request: pytest.FixtureRequest) -> None:
    stacks: LoggerAppStacks = request.getfixturevalue(config)
    allowed = {a.split(":")[0] for s in _statements().values() for a in _actions(s)}
    types = {
        resource["Type"]
        for stack in stacks.all()
        for resource in template(stack).to_json()["Resources"].values()
    }
    for resource_type in sorted(types):
        if resource_type == "AWS::CDK::Metadata":
            continue
        if resource_type.startswith("Custom::"):
            assert "lambda" in allowed  # CloudFormation invokes the provider function
            continue
        namespace = resource_type.split("::")[1]
        assert namespace in PREFIX, f"{resource_type}: map it and review the policy"
        assert PREFIX[namespace] in allowed, resource_type


def test_no_statement_grants_iam_everywhere() -> None:
    for sid, statement in _statements().items():
        if any(a.startswith("iam:") for a in _actions(statement)):
            assert statement["Resource"] != "*", sid
            assert "iam:*" not in _actions(statement), sid
    assert _statements()["RolesOfTheStacksOnly"]["Resource"] == "arn:aws:iam::*:role/LoggerApp-*"


def test_the_stacks_roles_fall_under_the_policy(prod: LoggerAppStacks) -> None:
    """CloudFormation names a role <stack name>-<logical id>-<suffix>: every stack is LoggerApp-*
    and no role is given a name of its own."""
    for stack in prod.all():
        assert stack.stack_name.startswith("LoggerApp-")
        for resource in template(stack).to_json()["Resources"].values():
            if resource["Type"] == "AWS::IAM::Role":
                assert "RoleName" not in resource["Properties"]
