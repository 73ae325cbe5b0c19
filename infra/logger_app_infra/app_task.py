"""The service's task definition: the app, the ADOT collector sidecar and the FireLens router."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from .config import DeploymentConfig
from .images import ImageCatalog
from .log_groups import encrypted_log_group
from .nag import suppress, suppress_task_definition_findings
from .ports import APP_PORT

APP_CONTAINER = "app"
COLLECTOR_CONTAINER = "aws-otel-collector"
LOG_ROUTER_CONTAINER = "log-router"
LOG_ROUTER_CONFIG_FILE = "/extra.conf"  # where infra/images/log-router/Dockerfile puts it

DYNAMODB_ACTIONS = [
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
]
SQS_PRODUCER_ACTIONS = ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"]
# For the planned queue worker: pass consume_queue=True to AppTaskDefinition.
SQS_CONSUMER_ACTIONS = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:ReceiveMessage"]
KMS_DATA_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
XRAY_WRITE_ACTIONS = [
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
]


@dataclass(frozen=True)
class AppResources:
    """What the app reads and writes; the task role names exactly these."""

    records_table_name: str
    records_table_arn: str
    patients_table_name: str
    patients_table_arn: str
    queue_name: str
    queue_url: str
    queue_arn: str
    data_key_arn: str
    amp_workspace_arn: str
    amp_remote_write_url: str
    loki_host: str
    loki_port: int


def app_environment(
    config: DeploymentConfig, resources: AppResources, region: str
) -> dict[str, str]:
    return {
        "LOGGER_APP_RECORDS_TABLE": resources.records_table_name,
        "LOGGER_APP_PATIENTS_TABLE": resources.patients_table_name,
        "LOGGER_APP_QUEUE_NAME": resources.queue_name,
        "LOGGER_APP_QUEUE_URL": resources.queue_url,
        "LOGGER_APP_REGION": region,
        "LOGGER_APP_ENVIRONMENT": config.environment,
        "LOGGER_APP_LOG_LEVEL": "INFO",
        "OTEL_SERVICE_NAME": "logger-app",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4317",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_PROPAGATORS": "tracecontext,baggage,xray",
        "OTEL_PYTHON_ID_GENERATOR": "xray",
        "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "aws_ecs",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "cumulative",
        "OTEL_PYTHON_FASTAPI_EXCLUDED_URLS": "healthz,readyz",
    }


class AppTaskDefinition(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        resources: AppResources,
        images: ImageCatalog,
        collector_config: str,
        consume_queue: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        region = Stack.of(self).region
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            cpu=512,
            memory_limit_mib=1024,
            runtime_platform=ecs.RuntimePlatform(
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
                cpu_architecture=ecs.CpuArchitecture.X86_64,
            ),
        )
        sidecar_logs = encrypted_log_group(
            self, "SidecarLogs", retention=logs.RetentionDays.ONE_MONTH
        )

        self.collector = self.task_definition.add_container(
            COLLECTOR_CONTAINER,
            image=ecs.ContainerImage.from_registry(config.adot_image),
            essential=True,
            memory_reservation_mib=128,
            environment={
                # otel-collector.yaml from the repository, read at synth time.
                "AOT_CONFIG_CONTENT": collector_config,
                "AWS_REGION": region,
                "AMP_REMOTE_WRITE_ENDPOINT": resources.amp_remote_write_url,
            },
            # The image is FROM scratch: exec form, no shell.
            health_check=ecs.HealthCheck(
                command=["CMD", "/healthcheck"],
                interval=Duration.seconds(10),
                timeout=Duration.seconds(5),
                retries=5,
                start_period=Duration.seconds(10),
            ),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="collector", log_group=sidecar_logs),
        )

        self.log_router = self.task_definition.add_firelens_log_router(
            LOG_ROUTER_CONTAINER,
            image=images.image("log-router"),
            essential=True,
            memory_reservation_mib=64,
            firelens_config=ecs.FirelensConfig(
                type=ecs.FirelensLogRouterType.FLUENTBIT,
                options=ecs.FirelensOptions(
                    config_file_type=ecs.FirelensConfigFileType.FILE,
                    config_file_value=LOG_ROUTER_CONFIG_FILE,
                    enable_ecs_log_metadata=True,
                ),
            ),
            environment={
                "LOKI_HOST": resources.loki_host,
                "LOKI_PORT": str(resources.loki_port),
                "SERVICE_NAME": "logger-app",
                "ENVIRONMENT": config.environment,
                "AWS_REGION": region,
            },
            # The router's own logs must not go through itself.
            logging=ecs.LogDrivers.aws_logs(stream_prefix="log-router", log_group=sidecar_logs),
        )

        self.app = self.task_definition.add_container(
            APP_CONTAINER,
            image=images.image("app"),
            essential=True,
            memory_reservation_mib=512,
            port_mappings=[ecs.PortMapping(container_port=APP_PORT, name="http")],
            environment=app_environment(config, resources, region),
            health_check=ecs.HealthCheck(
                command=[
                    "CMD",
                    "python",
                    "-c",
                    "import urllib.request as u; "
                    f"u.urlopen('http://127.0.0.1:{APP_PORT}/healthz', timeout=3)",
                ],
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(30),
            ),
            # Options live in fluent-bit.conf (the [OUTPUT] to Loki).
            logging=ecs.LogDrivers.firelens(options={}),
        )
        self.app.add_container_dependencies(
            ecs.ContainerDependency(
                container=self.collector, condition=ecs.ContainerDependencyCondition.HEALTHY
            ),
            ecs.ContainerDependency(
                container=self.log_router, condition=ecs.ContainerDependencyCondition.START
            ),
        )
        self._grant(resources, region, consume_queue)
        Validations.of(self.task_definition).acknowledge(
            Acknowledgment(
                id="CloudFormation-Validate::E1029",
                reason="The ${env:...} in AOT_CONFIG_CONTENT are expanded by the collector at "
                "start, not by CloudFormation.",
            )
        )
        suppress_task_definition_findings(self.task_definition)
        suppress(
            self.task_definition.task_role,
            "AwsSolutions-IAM5",
            "X-Ray's PutTraceSegments, PutTelemetryRecords, GetSamplingRules and "
            "GetSamplingTargets (used by the ADOT sidecar) have no resource-level permissions.",
            applies_to=["Resource::*"],
        )

    def _grant(self, resources: AppResources, region: str, consume_queue: bool) -> None:
        add = self.task_definition.add_to_task_role_policy
        add(
            iam.PolicyStatement(
                sid="Tables",
                actions=DYNAMODB_ACTIONS,
                resources=[resources.records_table_arn, resources.patients_table_arn],
            )
        )
        queue_actions = SQS_PRODUCER_ACTIONS + (SQS_CONSUMER_ACTIONS if consume_queue else [])
        add(
            iam.PolicyStatement(sid="Queue", actions=queue_actions, resources=[resources.queue_arn])
        )
        add(
            iam.PolicyStatement(
                sid="DataKeyViaTablesAndQueue",
                actions=KMS_DATA_ACTIONS,
                resources=[resources.data_key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": [
                            f"dynamodb.{region}.amazonaws.com",
                            f"sqs.{region}.amazonaws.com",
                        ]
                    }
                },
            )
        )
        add(
            iam.PolicyStatement(
                sid="PrometheusRemoteWrite",
                actions=["aps:RemoteWrite"],
                resources=[resources.amp_workspace_arn],
            )
        )
        add(iam.PolicyStatement(sid="XRayWrite", actions=XRAY_WRITE_ACTIONS, resources=["*"]))
