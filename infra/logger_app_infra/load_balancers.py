"""What every application load balancer of the project has: invalid header fields dropped,
deletion protection in production, and access logs in the logs bucket."""

from __future__ import annotations

from aws_cdk import Annotations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .config import DeploymentConfig
from .nag import suppress


def hardened_load_balancer(
    scope: Construct,
    *,
    config: DeploymentConfig,
    vpc: ec2.IVpc,
    subnets: ec2.SubnetSelection,
    internet_facing: bool,
    security_group: ec2.ISecurityGroup,
    logs_bucket: s3.IBucket,
    log_prefix: str,
) -> elbv2.ApplicationLoadBalancer:
    """The ALB `scope`/LoadBalancer, logging to `<log_prefix>/<environment>/` in the bucket."""
    load_balancer = elbv2.ApplicationLoadBalancer(
        scope,
        "LoadBalancer",
        vpc=vpc,
        internet_facing=internet_facing,
        vpc_subnets=subnets,
        security_group=security_group,
        drop_invalid_header_fields=True,
        deletion_protection=config.is_production,
    )
    if not config.is_production:
        suppress(
            load_balancer,
            "HIPAA.Security-ELBDeletionProtectionEnabled",
            "Non-production environments are torn down with `cdk destroy`; production "
            "enables deletion protection.",
        )
    if config.region is not None:
        load_balancer.log_access_logs(logs_bucket, prefix=f"{log_prefix}/{config.environment}")
        return load_balancer
    # The log delivery principal depends on the region, unknown in an env-agnostic synth
    # (python infra/app.py without CDK_DEFAULT_REGION). The CDK CLI always sets it.
    Annotations.of(scope).add_warning_v2(
        "logger-app:no-region",
        "No region configured: this load balancer's access logs are off in this synth. "
        "Deploy with the CDK CLI or set CDK_DEFAULT_REGION.",
    )
    reason = (
        "Region-agnostic synth only (no region known): access logging needs the region's "
        "log delivery principal. Every deployable synth sets a region and enables it."
    )
    suppress(load_balancer, "AwsSolutions-ELB2", reason)
    suppress(load_balancer, "HIPAA.Security-ELBLoggingEnabled", reason)
    return load_balancer
