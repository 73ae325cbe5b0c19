"""Observability backends: AMP, Loki and Grafana on ECS, and a private DNS zone naming both; the
alerting (alerts.py): AMP's rules and alert manager, the alerts topic, and alarms on Loki and
Grafana."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_aps as aps
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_efs as efs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_servicediscovery as servicediscovery
from constructs import Construct

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
        alert_rules: str,
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
        file_system = efs.FileSystem(
            self,
            "FileSystem",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            encrypted=True,
            enable_automatic_backups=True,
            performance_mode=efs.PerformanceMode.GENERAL_PURPOSE,
            throughput_mode=efs.ThroughputMode.ELASTIC,
            removal_policy=RemovalPolicy.RETAIN if config.is_production else RemovalPolicy.DESTROY,
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
