"""Network: a two-AZ VPC, flow logs, VPC endpoints, and the bucket every access log lands in."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, CfnOutput, Duration, Fn, RemovalPolicy, Stack, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .config import DeploymentConfig
from .nag import suppress

# AWS APIs the tasks call; an interface endpoint keeps that traffic off the NAT gateway.
_INTERFACE_ENDPOINTS: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Sqs": ec2.InterfaceVpcEndpointAwsService.SQS,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "XRay": ec2.InterfaceVpcEndpointAwsService.XRAY,
    "PrometheusWorkspaces": ec2.InterfaceVpcEndpointAwsService.PROMETHEUS_WORKSPACES,
}


class NetworkStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeploymentConfig, **kwargs: Any
    ) -> None:
        self._zones = config.availability_zones
        super().__init__(scope, construct_id, **kwargs)

        # Server access logs, ALB access logs and VPC flow logs. ALB log delivery only
        # supports SSE-S3, so this bucket cannot use a KMS key.
        self.logs_bucket = s3.Bucket(
            self,
            "LogsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(365 if config.is_production else 90),
                    noncurrent_version_expiration=Duration.days(30),
                )
            ],
            # Audit evidence: never deleted together with the stack.
            removal_policy=RemovalPolicy.RETAIN,
        )
        # S3 server access logs of the other stacks' buckets (they reference this bucket by
        # name, so no statement naming them is needed here, and no dependency cycle arises).
        self.logs_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="S3ServerAccessLogs",
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.logs_bucket.arn_for_objects("s3/*")],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc_cidr),
            max_azs=2,
            nat_gateways=2 if config.is_production else 1,
            subnet_configuration=[
                # Only the NAT gateways (with Elastic IPs) live here.
                ec2.SubnetConfiguration(
                    name="Public",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=24,
                    map_public_ip_on_launch=False,
                ),
                ec2.SubnetConfiguration(
                    name="Private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20
                ),
            ],
            restrict_default_security_group=True,
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                "DynamoDb": ec2.GatewayVpcEndpointOptions(
                    service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
                ),
            },
            flow_logs={
                "All": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_s3(self.logs_bucket, "vpc-flow-logs/"),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
        )

        # Only the public API edge's load balancer (publicApiCertificateArn) uses the public
        # subnets from another stack. Exported with or without it: CloudFormation refuses to
        # delete an export that a consumer's current template still imports, so an export that
        # went with the input would make turning the edge off undeployable.
        for subnet in self.vpc.public_subnets:
            self.export_value(subnet.subnet_id)

        if self._zones:
            Validations.of(self.vpc).acknowledge(
                Acknowledgment(
                    id="CloudFormation-Validate::W3010",
                    reason="The zones are named by the availabilityZones input, for regions where "
                    "Fn::GetAZs picks unsuitable ones (docs/deployment.md, Inputs).",
                )
            )

        private = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        # Where the deploy workflow starts the verify task (verify_task.py).
        CfnOutput(
            self,
            "VerifySubnets",
            value=Fn.join(
                ",",
                self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnet_ids,
            ),
            description="Private subnets of the verify task",
        )
        for name, service in _INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                f"{name}Endpoint", service=service, subnets=private, private_dns_enabled=True
            )

        self._explain_findings()

    def _explain_findings(self) -> None:
        bucket = self.logs_bucket
        suppress(
            bucket,
            "AwsSolutions-S1",
            "This is the access-log destination; logging it into itself would loop.",
        )
        suppress(
            bucket,
            "HIPAA.Security-S3BucketLoggingEnabled",
            "This is the access-log destination; logging it into itself would loop.",
        )
        suppress(
            bucket,
            "HIPAA.Security-S3DefaultEncryptionKMS",
            "ALB access log delivery supports SSE-S3 only; the bucket holds no PHI payloads.",
        )
        suppress(
            bucket,
            "HIPAA.Security-S3BucketReplicationEnabled",
            "Single-region deployment: the bucket is versioned and retained on stack deletion; "
            "cross-region replication needs a second region (docs/deployment.md, follow-ups).",
        )
        for subnet in self.vpc.public_subnets:
            suppress(
                subnet,
                "HIPAA.Security-VPCNoUnrestrictedRouteToIGW",
                "Public subnets hold only the NAT gateways, whose default route must reach the "
                "internet gateway; every workload runs in the private subnets.",
            )
        for endpoint in self.node.find_all():
            if isinstance(endpoint, ec2.InterfaceVpcEndpoint):
                suppress(
                    endpoint,
                    "CdkNagValidationFailure",
                    "Endpoint security groups allow TCP 443 from the VPC CIDR only; the CIDR is "
                    "a CloudFormation reference at synth, which the port rules cannot evaluate.",
                )

    @property
    def availability_zones(self) -> list[str]:
        """The VPC's two zones, without a context lookup: the configured names, or the region's
        first two as Fn::GetAZs gives them at deploy time. A lookup outside the CDK CLI (tests,
        `make synth`) would yield the placeholders dummy1a/dummy1b; with the CLI it would tie
        the template to whatever cdk.context.json holds on the machine that synthesized it."""
        if self._zones:
            return list(self._zones)
        return [Fn.select(index, Fn.get_azs()) for index in range(2)]

    @property
    def private_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
