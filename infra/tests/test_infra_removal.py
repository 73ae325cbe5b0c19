"""Removal policies: data is kept by default everywhere; fixed names never block a retry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from infra_helpers import template
from infra_settings import DEV_CONTEXT, REPO
from logger_app_infra.app_builder import LoggerAppStacks, build_stacks
from logger_app_infra.config import ConfigError

# Properties that give a resource a fixed physical name (a retained one blocks the next create).
NAME_PROPERTIES = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::Backup::BackupVault": "BackupVaultName",
    "AWS::IAM::OIDCProvider": "Url",
    "AWS::ECR::PullThroughCacheRule": "EcrRepositoryPrefix",
    "AWS::ECR::RepositoryCreationTemplate": "Prefix",
}
DATA_TYPES = {"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket", "AWS::EFS::FileSystem"}


def _all_resources(stacks: LoggerAppStacks) -> list[dict[str, Any]]:
    return [
        resource
        for stack in stacks.all()
        for resource in template(stack).to_json()["Resources"].values()
    ]


@pytest.mark.parametrize("config", ["prod", "dev"])
def test_fixed_name_resources_are_deleted_when_their_create_rolls_back(
    config: str, request: pytest.FixtureRequest
) -> None:
    stacks: LoggerAppStacks = request.getfixturevalue(config)
    named = [r for r in _all_resources(stacks) if r["Type"] in NAME_PROPERTIES]
    assert {r["Type"] for r in named} >= {
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::ECR::Repository",
        "AWS::Backup::BackupVault",
    }
    for resource in named:
        assert NAME_PROPERTIES[resource["Type"]] in resource["Properties"], resource["Type"]
        assert resource["DeletionPolicy"] == "RetainExceptOnCreate", resource["Type"]
        assert resource["UpdateReplacePolicy"] == "Retain", resource["Type"]


@pytest.mark.parametrize("config", ["prod", "dev"])
def test_data_is_kept_by_default_in_every_environment(
    config: str, request: pytest.FixtureRequest
) -> None:
    stacks: LoggerAppStacks = request.getfixturevalue(config)
    data = [r for r in _all_resources(stacks) if r["Type"] in DATA_TYPES]
    assert {r["Type"] for r in data} == DATA_TYPES
    for resource in data:
        assert resource["DeletionPolicy"] in {"Retain", "RetainExceptOnCreate"}, resource["Type"]
        assert resource["UpdateReplacePolicy"] == "Retain", resource["Type"]


def test_deleting_data_with_the_stack_is_an_explicit_opt_in(tmp_path: Path) -> None:
    app = cdk.App(context={**DEV_CONTEXT, "dataRemovalPolicy": "destroy"}, outdir=str(tmp_path))
    stacks = build_stacks(app, REPO)
    logs_bucket = template(stacks.network).to_json()["Resources"][
        stacks.network.get_logical_id(stacks.network.logs_bucket.node.default_child)
    ]
    data = [r for r in _all_resources(stacks) if r["Type"] in DATA_TYPES and r != logs_bucket]
    assert {r["Type"] for r in data} == DATA_TYPES
    for resource in data:
        assert resource["DeletionPolicy"] == "Delete", resource["Type"]
    # Audit evidence (access and flow logs, log groups), keys and registries are not data to
    # throw away with the environment.
    kept = [
        r
        for r in _all_resources(stacks)
        if r["Type"] in {"AWS::KMS::Key", "AWS::Logs::LogGroup", "AWS::ECR::Repository"}
    ]
    assert kept
    assert all(r["DeletionPolicy"] != "Delete" for r in [*kept, logs_bucket])


@pytest.mark.parametrize("environment", ["prod", "production"])
def test_production_refuses_to_delete_its_data(environment: str) -> None:
    app = cdk.App(
        context={**DEV_CONTEXT, "environment": environment, "dataRemovalPolicy": "destroy"}
    )
    with pytest.raises(ConfigError, match="dataRemovalPolicy"):
        build_stacks(app, REPO)


def test_an_unknown_removal_policy_is_rejected() -> None:
    with pytest.raises(ConfigError, match="dataRemovalPolicy"):
        build_stacks(cdk.App(context={**DEV_CONTEXT, "dataRemovalPolicy": "delete"}), REPO)
