"""Network: two AZs, private subnets, flow logs, VPC endpoints."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk.assertions import Match
from infra_helpers import resources, template
from infra_settings import DEV_CONTEXT, REPO
from logger_app_infra.app_builder import LoggerAppStacks, build_stacks


def test_vpc_spans_two_azs_with_public_and_private_subnets(prod: LoggerAppStacks) -> None:
    subnets = resources(prod.network, "AWS::EC2::Subnet")
    public = [s for s in subnets.values() if "Public" in str(s["Properties"]["Tags"])]
    private = [s for s in subnets.values() if "Private" in str(s["Properties"]["Tags"])]
    assert len(public) == 2
    assert len(private) == 2
    assert len({str(s["Properties"]["AvailabilityZone"]) for s in private}) == 2


def test_no_subnet_hands_out_public_ips(prod: LoggerAppStacks) -> None:
    for subnet in resources(prod.network, "AWS::EC2::Subnet").values():
        assert subnet["Properties"].get("MapPublicIpOnLaunch") is not True


def test_flow_logs_capture_all_traffic_to_the_logs_bucket(prod: LoggerAppStacks) -> None:
    template(prod.network).has_resource_properties(
        "AWS::EC2::FlowLog",
        {"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "s3"},
    )


def test_gateway_endpoints_for_s3_and_dynamodb(prod: LoggerAppStacks) -> None:
    gateways = [
        str(e["Properties"]["ServiceName"])
        for e in resources(prod.network, "AWS::EC2::VPCEndpoint").values()
        if e["Properties"].get("VpcEndpointType") == "Gateway"
    ]
    assert len(gateways) == 2
    assert any(".s3" in name for name in gateways)
    assert any(".dynamodb" in name for name in gateways)


def test_interface_endpoints_for_the_apis_the_tasks_call(prod: LoggerAppStacks) -> None:
    names = {
        e["Properties"]["ServiceName"]
        for e in resources(prod.network, "AWS::EC2::VPCEndpoint").values()
        if e["Properties"].get("VpcEndpointType") == "Interface"
    }
    for service in ("ecr.api", "ecr.dkr", "logs", "sqs", "secretsmanager", "xray"):
        assert f"com.amazonaws.eu-west-1.{service}" in names
    assert "com.amazonaws.eu-west-1.aps-workspaces" in names


def test_logs_bucket_is_private_and_tls_only(prod: LoggerAppStacks) -> None:
    logs_bucket = prod.network.get_logical_id(prod.network.logs_bucket.node.default_child)
    template(prod.network).has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "VersioningConfiguration": {"Status": "Enabled"},
        },
    )
    template(prod.network).has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": logs_bucket},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_availability_zones_are_the_regions_first_two_without_a_lookup(
    prod: LoggerAppStacks, dev: LoggerAppStacks
) -> None:
    """No context lookup: outside the CDK CLI it would give dummy1a/dummy1b, with it whatever
    the synthesizing machine's cdk.context.json holds. Fn::GetAZs resolves at deploy time."""
    zones = {
        json.dumps(s["Properties"]["AvailabilityZone"], sort_keys=True)
        for s in resources(prod.network, "AWS::EC2::Subnet").values()
    }
    assert zones == {
        json.dumps({"Fn::Select": [index, {"Fn::GetAZs": ""}]}, sort_keys=True) for index in (0, 1)
    }
    for stacks in (prod, dev):
        for stack in stacks.all():
            assert "dummy1" not in json.dumps(template(stack).to_json()), stack.stack_name
    manifest = json.loads((Path(prod.network.node.root.outdir) / "manifest.json").read_text())
    assert not manifest.get("missing"), "a context lookup crept in"


def test_availability_zones_can_be_named(tmp_path: Path) -> None:
    app = cdk.App(
        context={**DEV_CONTEXT, "availabilityZones": "eu-west-1b,eu-west-1c"},
        outdir=str(tmp_path),
    )
    stacks = build_stacks(app, REPO)
    zones = {
        s["Properties"]["AvailabilityZone"]
        for s in resources(stacks.network, "AWS::EC2::Subnet").values()
    }
    assert zones == {"eu-west-1b", "eu-west-1c"}
