"""Network: two AZs, private subnets, flow logs, VPC endpoints."""

from __future__ import annotations

from aws_cdk.assertions import Match
from infra_helpers import resources, template
from logger_app_infra.app_builder import LoggerAppStacks


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
