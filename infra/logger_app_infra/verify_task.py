"""`logger-app verify` on AWS: a one-off Fargate task the deploy workflow starts after each deploy.

It runs the app's image inside the VPC (Loki is private), makes one synthetic journey through the
internal load balancer with its own Cognito client, and reads each sink back: AMP, X-Ray, Loki
and the CloudWatch copy of the API's logs (docs/verify.md, "On AWS"). Its role may only read
those sinks; the security group lets it reach only the API, Loki and AWS APIs over HTTPS
(access.py). The deploy role may start this task definition, pass its two roles and watch
it (deploy_role_statements).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from . import removal
from .config import DeploymentConfig
from .images import ImageCatalog
from .log_groups import encrypted_log_group, log_group_arn
from .nag import suppress, suppress_task_definition_findings

VERIFY_CONTAINER = "verify"
# Seconds the command polls the sinks before it names the missing ones; the workflow's wait
# (aws ecs wait tasks-stopped: 10 minutes) covers it and the task's start.
VERIFY_DEADLINE = 300
# The task's stream prefix: its log stream is verify/verify/<task id>.
LOG_STREAM_PREFIX = "verify"
CLIENT_ID_VARIABLE = "LOGGER_APP_VERIFY_CLIENT_ID"
CLIENT_SECRET_VARIABLE = "LOGGER_APP_VERIFY_CLIENT_SECRET"
# Read only. The X-Ray sink fetches the journey's traces by id (BatchGetTraces); X-Ray's read
# actions have no resource-level permissions.
AMP_READ_ACTIONS = ("aps:QueryMetrics",)
XRAY_READ_ACTIONS = ("xray:BatchGetTraces",)
LOG_READ_ACTIONS = ("logs:FilterLogEvents",)


@dataclass(frozen=True)
class VerifyNames:
    """The verify task's fixed names: the deploy role (delivery.py) is granted them without a
    reference to the service stack, so turning githubRepository off removes no export in use."""

    cluster: str
    family: str
    log_group: str
    # An IAM path, not a name: CloudFormation still names the roles <stack>-<id>-<suffix>, and
    # the path keeps them under the bootstrap policy's role/LoggerApp-* (infra/bootstrap).
    role_path: str

    @classmethod
    def of(cls, config: DeploymentConfig) -> VerifyNames:
        name = f"logger-app-{config.environment}-verify"
        return cls(
            cluster=name,
            family=name,
            log_group=f"/logger-app/{config.environment}/verify",
            role_path=f"/{config.prefix}-verify/",
        )


@dataclass(frozen=True)
class VerifyTargets:
    """Where the deployment's API and sinks are, as seen from inside the VPC."""

    api_url: str
    token_url: str
    amp_workspace_id: str
    amp_workspace_arn: str
    # The log routers' CloudWatch copies of the API's and of the worker's lines (app_task.py:
    # each task definition has its own).
    log_group: logs.ILogGroup
    worker_log_group: logs.ILogGroup
    loki_url: str


def verify_command(targets: VerifyTargets, region: str) -> list[str]:
    return [
        "logger-app",
        "verify",
        "--api",
        targets.api_url,
        "--token-url",
        targets.token_url,
        "--region",
        region,
        "--amp-workspace",
        targets.amp_workspace_id,
        "--xray",
        "--cloudwatch-log-group",
        targets.log_group.log_group_name,
        "--cloudwatch-worker-log-group",
        targets.worker_log_group.log_group_name,
        "--loki",
        targets.loki_url,
        "--deadline",
        str(VERIFY_DEADLINE),
    ]


class VerifyTask(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        vpc: ec2.IVpc,
        images: ImageCatalog,
        targets: VerifyTargets,
        client_id: str,
        client_secret: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        region = Stack.of(self).region
        self.names = VerifyNames.of(config)
        # Its own cluster: the deploy role may watch the tasks in it, and sees no other task.
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=vpc,
            cluster_name=self.names.cluster,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        self.cluster.apply_removal_policy(removal.NAMED)
        roles = {
            kind: iam.Role(
                self,
                f"{kind}Role",
                assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
                path=self.names.role_path,
                description=f"logger-app verify's {kind.lower()} role",
            )
            for kind in ("Task", "Execution")
        }
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            family=self.names.family,
            task_role=roles["Task"],
            execution_role=roles["Execution"],
            cpu=256,
            memory_limit_mib=512,
            runtime_platform=ecs.RuntimePlatform(
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
                cpu_architecture=ecs.CpuArchitecture.X86_64,
            ),
        )
        # Its report (sink -> arrived / missing), for the deploy job to print: no patient data,
        # the journey's data is made up.
        self.log_group = encrypted_log_group(
            self, "Logs", retention=logs.RetentionDays.ONE_YEAR, log_group_name=self.names.log_group
        )
        self.log_group.apply_removal_policy(removal.NAMED)
        self.container = self.task_definition.add_container(
            VERIFY_CONTAINER,
            image=images.image("app"),
            essential=True,
            command=verify_command(targets, region),
            environment={CLIENT_ID_VARIABLE: client_id},
            secrets={CLIENT_SECRET_VARIABLE: ecs.Secret.from_secrets_manager(client_secret)},
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix=LOG_STREAM_PREFIX, log_group=self.log_group
            ),
        )
        for statement in read_statements(targets):
            self.task_definition.add_to_task_role_policy(statement)

        suppress_task_definition_findings(self.task_definition)
        suppress(
            self.task_definition.task_role,
            "AwsSolutions-IAM5",
            "xray:BatchGetTraces has no resource-level permissions; it only reads traces, and "
            "the role's other reads name the AMP workspace and the log group.",
            applies_to=["Resource::*"],
        )


def read_statements(targets: VerifyTargets) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(
            sid="QueryMetrics",
            actions=list(AMP_READ_ACTIONS),
            resources=[targets.amp_workspace_arn],
        ),
        iam.PolicyStatement(sid="ReadTraces", actions=list(XRAY_READ_ACTIONS), resources=["*"]),
        # log_group_arn ends in ":*", the form IAM names a log group in for FilterLogEvents.
        iam.PolicyStatement(
            sid="ReadLogCopies",
            actions=list(LOG_READ_ACTIONS),
            resources=[targets.log_group.log_group_arn, targets.worker_log_group.log_group_arn],
        ),
    ]


def deploy_role_statements(stack: Stack, config: DeploymentConfig) -> list[iam.PolicyStatement]:
    """What the deploy workflow needs to run the verify task after `cdk deploy`: start its
    family (any revision, in its cluster only), pass its two roles to ECS, watch its tasks, and
    read its report. By name only (VerifyNames)."""
    names = VerifyNames.of(config)

    def ecs_arn(resource: str, name: str) -> str:
        return stack.format_arn(service="ecs", resource=resource, resource_name=name)

    in_cluster = {"ArnEquals": {"ecs:cluster": ecs_arn("cluster", names.cluster)}}
    return [
        iam.PolicyStatement(
            sid="RunVerifyTask",
            actions=["ecs:RunTask"],
            resources=[ecs_arn("task-definition", f"{names.family}:*")],
            conditions=in_cluster,
        ),
        iam.PolicyStatement(
            sid="PassVerifyRoles",
            actions=["iam:PassRole"],
            resources=[
                stack.format_arn(
                    service="iam",
                    region="",
                    resource="role",
                    resource_name=f"{names.role_path.strip('/')}/*",
                )
            ],
            conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        ),
        iam.PolicyStatement(
            sid="WatchVerifyTask",
            actions=["ecs:DescribeTasks"],
            resources=[ecs_arn("task", f"{names.cluster}/*")],
            conditions=in_cluster,
        ),
        # The group's streams: <group ARN>:*.
        iam.PolicyStatement(
            sid="ReadVerifyReport",
            actions=["logs:GetLogEvents"],
            resources=[f"{log_group_arn(stack, names.log_group)}:*"],
        ),
    ]


# cdk-nag's findings on deploy_role_statements' wildcards, as they appear in any synth.
DEPLOY_ROLE_WILDCARDS = [
    {"regex": "/^Resource::arn:.*:ecs:.*:task-definition\\/logger-app-.*-verify:\\*$/"},
    {"regex": "/^Resource::arn:.*:ecs:.*:task\\/logger-app-.*-verify\\/\\*$/"},
    {"regex": "/^Resource::arn:.*:iam::.*:role\\/LoggerApp-.*-verify\\/\\*$/"},
    {"regex": "/^Resource::arn:.*:logs:.*:log-group:\\/logger-app\\/.*\\/verify:\\*$/"},
]
