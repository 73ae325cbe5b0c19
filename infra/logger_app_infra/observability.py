"""Observability backends: AMP, Loki and Grafana on ECS, and a private DNS zone naming both; the
alerting (alerts.py): AMP's rules and alert manager, the alerts topic, and alarms on Loki and
Grafana."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_aps as aps
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_servicediscovery as servicediscovery
from constructs import Construct

from . import removal
from .alerts import AlertTopic, add_amp_alerting, no_running_task_alarm
from .config import DeploymentConfig
from .grafana import Grafana
from .images import ImageCatalog
from .loki import Loki
from .nag import suppress
from .ports import LOKI_PORT


class ObservabilityStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        vpc: ec2.IVpc,
        logs_bucket: s3.IBucket,
        loki_security_group: ec2.ISecurityGroup,
        grafana_security_group: ec2.ISecurityGroup,
        images: ImageCatalog,
        grafana_load_balancer_security_group: ec2.ISecurityGroup,
        alert_rules: str,
        slo_rules: str,
        alert_routing: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)

        self.workspace = aps.CfnWorkspace(
            self, "PrometheusWorkspace", alias=f"logger-app-{config.environment}"
        )
        # Everyone who must act is told through one topic: AMP's alerts and every alarm.
        self.alerts = AlertTopic(self, "Alerts", config=config)
        self.alert_rules = add_amp_alerting(
            self,
            workspace=self.workspace,
            topic=self.alerts,
            rules=alert_rules,
            slo_rules=slo_rules,
            routing=alert_routing,
        )
        # attr_prometheus_endpoint ends with "/".
        self.amp_query_url = self.workspace.attr_prometheus_endpoint
        self.amp_remote_write_url = f"{self.workspace.attr_prometheus_endpoint}api/v1/remote_write"
        self.amp_workspace_arn = self.workspace.attr_arn

        self.namespace = servicediscovery.PrivateDnsNamespace(
            self,
            "Namespace",
            name=config.service_namespace,
            vpc=vpc,
            description="Private DNS names of the observability services",
        )
        cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        file_system_key = kms.Key(
            self,
            "FileSystemKey",
            description="Encrypts the EFS file system of Loki and Grafana",
            enable_key_rotation=True,
            removal_policy=removal.UNNAMED,
        )
        file_system = efs.FileSystem(
            self,
            "FileSystem",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            encrypted=True,
            kms_key=file_system_key,
            file_system_policy=file_system_policy(),
            # True only switches off CDK's own default statement, an *Allow* of write and root
            # access to any principal through a mount target. The policy above allows nothing:
            # with a policy in place an anonymous (non-IAM) client is granted nothing, and the
            # tasks mount with IAM through their access points (efs_volume.py).
            allow_anonymous_access=True,
            enable_automatic_backups=True,
            performance_mode=efs.PerformanceMode.GENERAL_PURPOSE,
            throughput_mode=efs.ThroughputMode.ELASTIC,
            removal_policy=removal.data(config, named=False),
        )

        suppress(
            file_system,
            "HIPAA.Security-EFSInBackupPlan",
            "Automatic backups are on: AWS Backup's default EFS plan (daily, 35 days), which is "
            "created outside this template and so invisible to the rule.",
        )

        # Referenced by name: a Bucket object from another stack would make CDK add a
        # policy statement naming this stack's bucket to that stack (a dependency cycle).
        access_logs = s3.Bucket.from_bucket_name(self, "AccessLogs", logs_bucket.bucket_name)
        self.loki = Loki(
            self,
            "Loki",
            config=config,
            cluster=cluster,
            file_system=file_system,
            namespace=self.namespace,
            images=images,
            access_logs_bucket=access_logs,
            security_group=loki_security_group,
        )
        self.loki_host = self.loki.dns_name
        self.grafana = Grafana(
            self,
            "Grafana",
            config=config,
            cluster=cluster,
            file_system=file_system,
            namespace=self.namespace,
            images=images,
            security_group=grafana_security_group,
            amp_workspace_arn=self.amp_workspace_arn,
            amp_query_url=self.amp_query_url,
            loki_url=f"http://{self.loki_host}:{LOKI_PORT}",
            load_balancer_security_group=grafana_load_balancer_security_group,
            # ALB access logs need the bucket's policy to grant the log delivery (in Network).
            logs_bucket=logs_bucket,
        )
        for name, service in (("Loki", self.loki.service), ("Grafana", self.grafana.service)):
            no_running_task_alarm(
                self,
                f"{name}NotRunning",
                config=config,
                topic=self.alerts.topic,
                cluster_name=cluster.cluster_name,
                service_name=service.service_name,
                what=name,
            )
        CfnOutput(self, "GrafanaUrl", value=self.grafana.url, description="Over the Client VPN")
        CfnOutput(
            self,
            "GrafanaAdminSecret",
            value=self.grafana.admin_secret.secret_name,
            description="Secrets Manager secret holding the Grafana admin password",
        )
        CfnOutput(self, "PrometheusQueryUrl", value=self.amp_query_url)
        CfnOutput(
            self,
            "AlertsTopicArn",
            value=self.alerts.topic.topic_arn,
            description="Alerts and alarms are published here: subscribe people (alertEmails)",
        )


EFS_CLIENT_ACTIONS = [
    "elasticfilesystem:ClientMount",
    "elasticfilesystem:ClientWrite",
    "elasticfilesystem:ClientRootAccess",
]


def file_system_policy() -> iam.PolicyDocument:
    """Only denies: no TLS, no access point, or root. Grants come from the task roles (each
    limited to its own access point), so an anonymous client, which has no identity policy,
    gets nothing. EFS evaluates only aws:SecureTransport, aws:SourceIp and its own two keys
    for clients, hence these conditions."""
    anyone = [iam.AnyPrincipal()]
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="DenyUnencryptedTransport",
                effect=iam.Effect.DENY,
                principals=anyone,
                actions=["*"],
                conditions={"Bool": {"aws:SecureTransport": "false"}},
            ),
            iam.PolicyStatement(
                sid="DenyAccessOutsideAccessPoints",
                effect=iam.Effect.DENY,
                principals=anyone,
                actions=EFS_CLIENT_ACTIONS,
                conditions={"Null": {"elasticfilesystem:AccessPointArn": "true"}},
            ),
            iam.PolicyStatement(
                sid="DenyRootAccess",
                effect=iam.Effect.DENY,
                principals=anyone,
                actions=["elasticfilesystem:ClientRootAccess"],
            ),
        ]
    )
