"""Grafana: one task, SQLite (rollback journal) on EFS, secrets from Secrets Manager.

With grafanaCertificateArn, an internal HTTPS load balancer fronts it and staff sign in through
the staff user pool (staff_sign_in.py); the admin account stays as the break-glass login.
"""

from __future__ import annotations

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_efs as efs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_servicediscovery as servicediscovery
from constructs import Construct

from .config import DeploymentConfig
from .efs_volume import mount_access_point, single_writer_service
from .images import ImageCatalog
from .load_balancers import hardened_load_balancer
from .log_groups import encrypted_log_group
from .nag import suppress, suppress_task_definition_findings
from .ports import GRAFANA_PORT
from .staff_sign_in import StaffSignIn

GRAFANA_UID = "472"  # the grafana/grafana image runs as 472:0
GRAFANA_GID = "0"

# Reads the amazonprometheus data source makes (SigV4 with the task role).
AMP_QUERY_ACTIONS = [
    "aps:QueryMetrics",
    "aps:GetLabels",
    "aps:GetSeries",
    "aps:GetMetricMetadata",
]
# Reads the X-Ray data source makes (AWS's minimal policy for it); neither X-Ray nor
# DescribeRegions (the region picker) has resource-level permissions.
XRAY_READ_ACTIONS = [
    "ec2:DescribeRegions",
    "xray:BatchGetTraces",
    "xray:GetGroups",
    "xray:GetInsight",
    "xray:GetInsightSummaries",
    "xray:GetServiceGraph",
    "xray:GetTimeSeriesServiceStatistics",
    "xray:GetTraceGraph",
    "xray:GetTraceSummaries",
]


class Grafana(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        cluster: ecs.ICluster,
        file_system: efs.FileSystem,
        namespace: servicediscovery.PrivateDnsNamespace,
        images: ImageCatalog,
        security_group: ec2.ISecurityGroup,
        amp_workspace_arn: str,
        amp_query_url: str,
        loki_url: str,
        load_balancer_security_group: ec2.ISecurityGroup,
        logs_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dns_name = f"grafana.{namespace.namespace_name}"
        self.url = f"http://{self.dns_name}:{GRAFANA_PORT}"
        # The load balancer's name: `grafana` is the task's own record (Cloud Map).
        self.https_dns_name = f"dashboards.{namespace.namespace_name}"
        if config.staff_sso_enabled:
            self.url = f"https://{self.https_dns_name}"

        secret_key = kms.Key(
            self,
            "SecretKey",
            description="Encrypts the Grafana secrets (admin password, secret key, SSO client)",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.admin_secret = secretsmanager.Secret(
            self,
            "AdminPassword",
            description=f"Grafana admin password ({config.environment})",
            encryption_key=secret_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=32, exclude_punctuation=True
            ),
        )

        # Grafana's own key for what it encrypts in its database; never the built-in default.
        self.secret_key_secret = secretsmanager.Secret(
            self,
            "SecurityKey",
            description=f"Grafana GF_SECURITY_SECRET_KEY ({config.environment})",
            encryption_key=secret_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
        )
        secrets = {
            "GF_SECURITY_ADMIN_PASSWORD": ecs.Secret.from_secrets_manager(self.admin_secret),
            "GF_SECURITY_SECRET_KEY": ecs.Secret.from_secrets_manager(self.secret_key_secret),
        }
        sign_in_environment: dict[str, str] = {}
        self.staff_sign_in: StaffSignIn | None = None
        if config.staff_sso_enabled:
            self.staff_sign_in = StaffSignIn(
                self,
                "StaffSignIn",
                config=config,
                grafana_root_url=self.url,
                encryption_key=secret_key,
            )
            sign_in_environment = {
                **self.staff_sign_in.grafana_environment,
                "GF_SECURITY_COOKIE_SECURE": "true",
            }
            secrets["GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET"] = ecs.Secret.from_secrets_manager(
                self.staff_sign_in.client_secret
            )
        else:
            Annotations.of(self).add_warning_v2(
                "logger-app:no-grafana-sso",
                "grafanaCertificateArn is not set: Grafana is served over plain HTTP on port "
                f"{GRAFANA_PORT} and staff sign in with Grafana accounts, not SSO with MFA.",
            )

        task_definition = ecs.FargateTaskDefinition(
            self, "TaskDefinition", cpu=512, memory_limit_mib=1024
        )
        container = task_definition.add_container(
            "grafana",
            image=images.image("grafana"),
            docker_labels=images.base_labels("grafana"),
            essential=True,
            port_mappings=[ecs.PortMapping(container_port=GRAFANA_PORT, name="http")],
            environment={
                "AWS_REGION": Stack.of(self).region,
                "AMP_QUERY_URL": amp_query_url,
                "LOKI_URL": loki_url,
                "ENVIRONMENT": config.environment,
                "GF_SERVER_ROOT_URL": self.url,
                "GF_DATABASE_TYPE": "sqlite3",
                # SQLite's write-ahead log keeps its index in shared memory (the -shm file),
                # which SQLite documents as not working over a network file system; EFS is
                # one. The rollback journal needs only POSIX locks, which EFS (NFSv4.1)
                # provides, and one task at a time writes (efs_volume.single_writer_service).
                "GF_DATABASE_WAL": "false",
                "GF_SECURITY_ADMIN_USER": "admin",
                "GF_AUTH_ANONYMOUS_ENABLED": "false",
                "GF_USERS_ALLOW_SIGN_UP": "false",
                # The staff dashboard's "today" is the company's day (docs/dashboards.md).
                "GF_USERS_DEFAULT_TIMEZONE": config.company_time_zone,
                "GF_ANALYTICS_REPORTING_ENABLED": "false",
                "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
                "GF_AUTH_SIGV4_AUTH_ENABLED": "true",
                **sign_in_environment,
            },
            secrets=secrets,
            health_check=ecs.HealthCheck(
                command=[
                    "CMD-SHELL",
                    f"wget -q -O /dev/null http://127.0.0.1:{GRAFANA_PORT}/api/health || exit 1",
                ],
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(60),
            ),
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="grafana",
                log_group=encrypted_log_group(self, "Logs", retention=logs.RetentionDays.ONE_MONTH),
            ),
        )
        mount_access_point(
            self,
            file_system=file_system,
            task_definition=task_definition,
            container=container,
            name="grafana",
            path="/grafana",
            uid=GRAFANA_UID,
            gid=GRAFANA_GID,
            container_path="/var/lib/grafana",
        )
        task_definition.add_to_task_role_policy(
            iam.PolicyStatement(
                sid="QueryPrometheus", actions=AMP_QUERY_ACTIONS, resources=[amp_workspace_arn]
            )
        )
        task_definition.add_to_task_role_policy(
            iam.PolicyStatement(sid="ReadTraces", actions=XRAY_READ_ACTIONS, resources=["*"])
        )

        self.service = single_writer_service(
            self,
            name="grafana",
            cluster=cluster,
            task_definition=task_definition,
            security_group=security_group,
            namespace=namespace,
            file_system=file_system,
        )

        if config.grafana_certificate_arn is not None:
            self._https_load_balancer(
                config,
                cluster.vpc,
                namespace,
                load_balancer_security_group,
                logs_bucket,
                config.grafana_certificate_arn,
            )

        suppress_task_definition_findings(task_definition)
        suppress(
            task_definition.task_role,
            "AwsSolutions-IAM5",
            "X-Ray trace reads (GetTraceSummaries, BatchGetTraces, GetServiceGraph, ...) and "
            "ec2:DescribeRegions have no resource-level permissions.",
            applies_to=["Resource::*"],
        )
        rotation_reason = (
            "Grafana copies the admin password into its database on first start only, so "
            "rotating the secret would not change the login; rotate it with "
            "`grafana cli admin reset-admin-password` (docs/deployment.md)."
        )
        suppress(self.admin_secret, "AwsSolutions-SMG4", rotation_reason)
        suppress(self.admin_secret, "HIPAA.Security-SecretsManagerRotationEnabled", rotation_reason)
        key_reason = (
            "Grafana encrypts the data keys in its database with this key; a rotated value "
            "would leave them unreadable, so it is set once and never rotated."
        )
        suppress(self.secret_key_secret, "AwsSolutions-SMG4", key_reason)
        suppress(self.secret_key_secret, "HIPAA.Security-SecretsManagerRotationEnabled", key_reason)

    def _https_load_balancer(
        self,
        config: DeploymentConfig,
        vpc: ec2.IVpc,
        namespace: servicediscovery.PrivateDnsNamespace,
        security_group: ec2.ISecurityGroup,
        logs_bucket: s3.IBucket,
        certificate_arn: str,
    ) -> None:
        """Internal ALB in the private subnets, HTTPS only, named dashboards.<namespace>."""
        self.load_balancer = hardened_load_balancer(
            self,
            config=config,
            vpc=vpc,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            internet_facing=False,
            security_group=security_group,
            logs_bucket=logs_bucket,
            log_prefix="grafana-alb",
        )
        listener = self.load_balancer.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            open=False,
        )
        listener.add_targets(
            "Grafana",
            port=GRAFANA_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[
                self.service.load_balancer_target(
                    container_name="grafana", container_port=GRAFANA_PORT
                )
            ],
            health_check=elbv2.HealthCheck(
                path="/api/health", healthy_http_codes="200", interval=Duration.seconds(30)
            ),
            deregistration_delay=Duration.seconds(10),
        )
        zone = route53.PrivateHostedZone.from_hosted_zone_attributes(
            self,
            "PrivateZone",
            hosted_zone_id=namespace.namespace_hosted_zone_id,
            zone_name=namespace.namespace_name,
        )
        route53.ARecord(
            self,
            "Record",
            zone=zone,
            record_name=self.https_dns_name,
            target=route53.RecordTarget.from_alias(
                route53_targets.LoadBalancerTarget(self.load_balancer)
            ),
        )
