"""Alerting on AWS: one SNS topic that tells people, fed by two sources.

- AMP evaluates the repository's rules files, each read at synth time and uploaded as a rule
  groups namespace (never a copy): the symptom alerts (alerts/logger-app.rules.yaml) and the SLO
  rules `make slo` generates (alerts/logger-app.slo.rules.yaml). Its alert manager routes the
  alerts by severity as alerts/alertmanager.yml says, each receiver publishing to the topic.
- CloudWatch alarms cover what Prometheus cannot see: the dead-letter queue's depth (even with
  the worker down), the load balancer's own 5xx and unhealthy targets, and Loki or Grafana with no
  running task.

The topic is encrypted with its own KMS key, refuses plain HTTP, and admits AMP (this workspace
only) and CloudWatch alarms (this account only). People subscribe by email through the
`alertEmails` input; without it the topic has no subscription (a synth warning says so).
"""

from __future__ import annotations

import textwrap
from typing import Any

import yaml
from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_aps as aps
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from .config import DeploymentConfig

RULES_FILE = "alerts/logger-app.rules.yaml"
SLO_RULES_FILE = "alerts/logger-app.slo.rules.yaml"
ROUTING_FILE = "alerts/alertmanager.yml"
RULES_NAMESPACE = "logger-app"
SLO_RULES_NAMESPACE = "logger-app-slo"
RUNBOOK = "docs/runbook.md"
# SNS subjects are ASCII, at most 100 characters: e.g. "[PAGE] SignupsFailing (prod)".
SNS_SUBJECT = (
    "[{{ .CommonLabels.severity | toUpper }}] {{ .CommonLabels.alertname }}"
    " ({{ .CommonLabels.deployment_environment }})"
)
# The email's body: each alert's plain words, its numbers and its runbook.
SNS_MESSAGE = (
    "{{ range .Alerts }}{{ .Status | toUpper }}: {{ .Annotations.summary }}\n"
    "{{ .Annotations.description }}\n"
    "Runbook: {{ .Annotations.runbook_url }}\n"
    "Since: {{ .StartsAt }}\n\n{{ end }}"
)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the message template) as literal blocks, as a person writes them."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def alert_manager_definition(routing: str, topic_arn: str, region: str) -> str:
    """AMP's alert manager definition: the routing of alerts/alertmanager.yml with each receiver
    publishing to the SNS topic (AMP needs the region in sigv4), under `alertmanager_config`."""
    config: dict[str, Any] = yaml.safe_load(routing)
    for receiver in config["receivers"]:
        receiver["sns_configs"] = [
            {
                "topic_arn": topic_arn,
                "sigv4": {"region": region},
                "subject": SNS_SUBJECT,
                "message": SNS_MESSAGE,
                "attributes": {"severity": receiver["name"]},
            }
        ]
    # No folding of long lines: a CDK token inside a string must stay in one piece.
    text = yaml.dump(config, Dumper=_Dumper, sort_keys=False, width=10_000)
    return "alertmanager_config: |\n" + textwrap.indent(text, "  ")


class AlertTopic(Construct):
    """The SNS topic alerts and alarms go to, and its email subscriptions."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        publishers = [
            iam.ServicePrincipal("aps.amazonaws.com"),
            iam.ServicePrincipal("cloudwatch.amazonaws.com"),
        ]
        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the logger-app alerts topic ({config.environment})",
            enable_key_rotation=True,
            # Kept like every key of the project: deleting one is a scheduled, separate decision.
            removal_policy=RemovalPolicy.RETAIN,
        )
        # AMP and CloudWatch encrypt what they publish with the topic's key. (The workspace
        # cannot be named here: the workspace names the topic, the topic the key.)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlertPublishersUseTheKey",
                principals=publishers,
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name=f"logger-app {config.environment} alerts",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        for email in config.alert_emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        if not config.alert_emails:
            Annotations.of(self).add_warning_v2(
                "logger-app:no-alert-emails",
                "alertEmails is not set: alerts and alarms reach the SNS topic, but nobody is "
                "subscribed to it.",
            )

    def allow_workspace(self, workspace: aps.CfnWorkspace) -> None:
        """AMP's alert manager may publish, for this workspace only."""
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AmpAlertManagerPublishes",
                principals=[iam.ServicePrincipal("aps.amazonaws.com")],
                actions=["sns:Publish", "sns:GetTopicAttributes"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnEquals": {"aws:SourceArn": workspace.attr_arn},
                    "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                },
            )
        )


def add_amp_alerting(
    scope: Construct,
    *,
    workspace: aps.CfnWorkspace,
    topic: AlertTopic,
    rules: str,
    slo_rules: str,
    routing: str,
) -> list[aps.CfnRuleGroupsNamespace]:
    """Each rules file as one of the workspace's rule groups namespaces (AMP takes one file per
    namespace), and its alert manager routing to the topic."""
    namespaces = [
        aps.CfnRuleGroupsNamespace(
            scope, "AlertRules", workspace=workspace.attr_arn, name=RULES_NAMESPACE, data=rules
        ),
        aps.CfnRuleGroupsNamespace(
            scope,
            "SloRules",
            workspace=workspace.attr_arn,
            name=SLO_RULES_NAMESPACE,
            data=slo_rules,
        ),
    ]
    workspace.alert_manager_definition = alert_manager_definition(
        routing, topic.topic.topic_arn, Stack.of(scope).region
    )
    topic.allow_workspace(workspace)
    return namespaces


def alarm(
    scope: Construct,
    construct_id: str,
    *,
    config: DeploymentConfig,
    topic: sns.ITopic,
    metric: cloudwatch.IMetric,
    description: str,
    threshold: float,
    comparison: cloudwatch.ComparisonOperator,
    evaluation_periods: int = 1,
    missing_data: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
) -> cloudwatch.Alarm:
    """A CloudWatch alarm that notifies the alerts topic when it fires and when it clears; its
    id is its heading in docs/runbook.md."""
    created = cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_name=f"{config.prefix}-{construct_id}",
        alarm_description=f"{description} Runbook: {RUNBOOK}#{construct_id.lower()}",
        metric=metric,
        threshold=threshold,
        comparison_operator=comparison,
        evaluation_periods=evaluation_periods,
        treat_missing_data=missing_data,
    )
    action = cloudwatch_actions.SnsAction(topic)
    created.add_alarm_action(action)
    created.add_ok_action(action)
    return created


def no_running_task_alarm(
    scope: Construct,
    construct_id: str,
    *,
    config: DeploymentConfig,
    topic: sns.ITopic,
    cluster_name: str,
    service_name: str,
    what: str,
) -> cloudwatch.Alarm:
    """The service has had no running task for 5 minutes (Container Insights' count; no data
    at all counts as none running)."""
    return alarm(
        scope,
        construct_id,
        config=config,
        topic=topic,
        metric=cloudwatch.Metric(
            namespace="ECS/ContainerInsights",
            metric_name="RunningTaskCount",
            dimensions_map={"ClusterName": cluster_name, "ServiceName": service_name},
            statistic="Maximum",
            period=Duration.minutes(1),
        ),
        description=f"{what} has had no running task for 5 minutes.",
        threshold=1,
        comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluation_periods=5,
        missing_data=cloudwatch.TreatMissingData.BREACHING,
    )
