"""CDK feature flags: cdk.json holds the pinned aws-cdk-lib's recommended flags (what `cdk init`
writes), every synth applies them, and the templates show their effects."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import aws_cdk
from infra_helpers import resources
from logger_app_infra.app_builder import CDK_JSON, LoggerAppStacks, feature_flags

# Reviewed departures from the recommendation, each with its reason (docs/deployment.md,
# "Feature flags").
DEVIATIONS: dict[str, Any] = {
    # Recommended "weak" (Fn::GetStackOutput): a producing stack could then drop or change a
    # value its consumers still use. Exports stop that at deploy time, and the stacks are
    # deployed in dependency order (cdk deploy --all).
    "@aws-cdk/core:defaultCrossStackReferences": "strong",
}


def recommended_flags() -> dict[str, Any]:
    """The list `cdk init` writes, from the jsii assembly of the installed aws-cdk-lib."""
    jsii = Path(aws_cdk.__file__).parent / "_jsii"
    (tarball,) = jsii.glob("aws-cdk-lib@*.jsii.tgz")
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/recommended-feature-flags.json")
        assert member is not None
        flags: dict[str, Any] = json.load(member)
    return flags


def test_cdk_json_holds_the_recommended_flags_of_the_pinned_library() -> None:
    expected = {**recommended_flags(), **DEVIATIONS}
    context = json.loads(CDK_JSON.read_text())["context"]
    missing = sorted(set(expected) - set(context))
    assert not missing, f"new recommended flags to review and add to infra/cdk.json: {missing}"
    assert context == expected


def test_every_synth_applies_the_flags(prod: LoggerAppStacks) -> None:
    app = prod.network.node.root
    for key, value in feature_flags().items():
        assert app.node.try_get_context(key) == value, key


def test_flow_log_bucket_policy_has_the_statements_aws_adds_at_creation(
    prod: LoggerAppStacks,
) -> None:
    """@aws-cdk/aws-s3:createDefaultLoggingPolicy: without these statements in the template,
    the next update of the bucket policy removes the ones AWS added and flow logs stop."""
    bucket = prod.network.get_logical_id(prod.network.logs_bucket.node.default_child)
    (policy,) = [
        p
        for p in resources(prod.network, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    delivery = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "delivery.logs.amazonaws.com"}
    ]
    actions = {
        action
        for s in delivery
        for action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert actions == {"s3:PutObject", "s3:GetBucketAcl", "s3:ListBucket"}
    # The default logging policy's statements: confined to this account's log deliveries.
    defaults = [
        s
        for s in delivery
        if s.get("Condition", {}).get("StringEquals", {}).get("aws:SourceAccount") == "111111111111"
    ]
    assert {json.dumps(s["Action"]) for s in defaults} == {
        '"s3:PutObject"',
        '["s3:GetBucketAcl", "s3:ListBucket"]',
    }
    put = next(s for s in defaults if s["Action"] == "s3:PutObject")
    assert "/vpc-flow-logs/AWSLogs/111111111111/*" in json.dumps(put["Resource"])


def test_ecs_services_carry_no_implicit_deployment_settings(prod: LoggerAppStacks) -> None:
    """disableExplicitDeploymentControllerForCircuitBreaker, removeDefaultDeploymentAlarm and
    removeEmptyLoadBalancers: only what the code asks for reaches the services."""
    services = [s for stack in prod.all() for s in resources(stack, "AWS::ECS::Service").values()]
    assert len(services) == 4
    for service in services:
        props = service["Properties"]
        assert "DeploymentController" not in props
        assert "Alarms" not in props["DeploymentConfiguration"]
        assert props["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
            "Enable": True,
            "Rollback": True,
        }
        assert "LoadBalancers" in props  # [] when the service has no target group


def test_efs_mount_targets_are_named_by_subnet(prod: LoggerAppStacks) -> None:
    """mountTargetOrderInsensitiveLogicalId: reordering subnets replaces no mount target."""
    names = set(resources(prod.observability, "AWS::EFS::MountTarget"))
    assert len(names) == 2
    assert all("PrivateSubnet" in name for name in names)


def test_arns_use_partition_literals_where_the_region_is_known(prod: LoggerAppStacks) -> None:
    """enablePartitionLiterals: the templates name arn:aws: directly (the region is known)."""
    delivery = json.dumps(
        [r["Properties"] for r in resources(prod.delivery, "AWS::IAM::Policy").values()]
    )
    assert "arn:aws:iam::111111111111:role/cdk-hnb659fds-deploy-role" in delivery
    assert "AWS::Partition" not in delivery
