"""A logger-app task: the app process, the ADOT collector sidecar and the FireLens log router.

The same layout serves the API (`logger-app serve`, behind the ALB) and the event worker
(`logger-app worker`, no port); each gets its own task role (app_permissions.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from .app_permissions import AppResources, Process, durable_log_statement, task_role_statements
from .config import DeploymentConfig
from .images import ImageCatalog
from .log_groups import encrypted_log_group
from .nag import suppress, suppress_task_definition_findings
from .ports import APP_PORT

APP_CONTAINER = "app"
COLLECTOR_CONTAINER = "aws-otel-collector"
LOG_ROUTER_CONTAINER = "log-router"
LOG_ROUTER_CONFIG_FILE = "/extra.conf"  # where infra/images/log-router/Dockerfile puts it
# fluent-bit.conf re-emits every app record under buffered.<tag>: all of them get the copy.
DURABLE_COPY_MATCH = "buffered.*"
# Audits and incident reviews of PHI access reach back years; HIPAA keeps required records six
# years (45 CFR 164.316(b)(2)). Loki keeps what staff browse for much less (images/loki).
DURABLE_LOG_RETENTION = logs.RetentionDays.SIX_YEARS

SERVICE_NAMES = {Process.API: "logger-app", Process.WORKER: "logger-app-worker"}
WORKER_COMMAND = ["logger-app", "worker"]


def app_environment(
    config: DeploymentConfig,
    resources: AppResources,
    region: str,
    process: Process,
    auth_environment: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The app container's environment; the token settings (LOGGER_APP_AUTH_*) for the API only:
    it refuses to start without them, and the worker checks no tokens."""
    if process is Process.WORKER and auth_environment:
        raise ValueError("the worker checks no tokens: give it no LOGGER_APP_AUTH_* settings")
    # The API believes X-Forwarded-For (the client address in its spans) from peers in the VPC
    # only: its load balancers; a client cannot choose the address reported for it.
    proxies = {"LOGGER_APP_TRUSTED_PROXIES": config.vpc_cidr} if process is Process.API else {}
    return {
        **(auth_environment or {}),
        **proxies,
        "LOGGER_APP_RECORDS_TABLE": resources.records_table_name,
        "LOGGER_APP_PATIENTS_TABLE": resources.patients_table_name,
        "LOGGER_APP_OUTBOX_TABLE": resources.outbox_table_name,
        "LOGGER_APP_QUEUE_NAME": resources.queue_name,
        "LOGGER_APP_QUEUE_URL": resources.queue_url,
        "LOGGER_APP_REGION": region,
        "LOGGER_APP_ENVIRONMENT": config.environment,
        "LOGGER_APP_LOG_LEVEL": "INFO",
        "OTEL_SERVICE_NAME": SERVICE_NAMES[process],
        "OTEL_RESOURCE_ATTRIBUTES": f"deployment.environment={config.environment}",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4317",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_PROPAGATORS": "tracecontext,baggage,xray",
        "OTEL_PYTHON_ID_GENERATOR": "xray",
        "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "aws_ecs",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "cumulative",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "fastapi",
        "OTEL_SEMCONV_STABILITY_OPT_IN": "http",
        "OTEL_METRICS_EXEMPLAR_FILTER": "always_off",
    }


class AppTaskDefinition(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        process: Process,
        config: DeploymentConfig,
        resources: AppResources,
        images: ImageCatalog,
        collector_config: str,
        auth_environment: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        region = Stack.of(self).region
        worker = process is Process.WORKER
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
        # The app's log lines, copied by the log router beside Loki (fluent-bit.conf).
        self.durable_logs = encrypted_log_group(
            self, "DurableLogs", retention=DURABLE_LOG_RETENTION
        )

        adot_image, adot_labels = images.adot(self, self.task_definition)
        self.collector = self.task_definition.add_container(
            COLLECTOR_CONTAINER,
            image=adot_image,
            docker_labels=adot_labels,
            essential=True,
            memory_reservation_mib=128,
            environment={
                # otel-collector.yaml from the repository, read at synth time.
                "AOT_CONFIG_CONTENT": collector_config,
                "AWS_REGION": region,
                "AMP_REMOTE_WRITE_ENDPOINT": resources.amp_remote_write_url,
                # The ECS container metrics get the same service identity as the app's own.
                "OTEL_RESOURCE_ATTRIBUTES": f"service.name={SERVICE_NAMES[process]},"
                f"deployment.environment={config.environment}",
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
        Validations.of(self.task_definition).acknowledge(
            Acknowledgment(
                id="CloudFormation-Validate::E1029",
                reason="The ${env:...} in AOT_CONFIG_CONTENT are expanded by the collector at "
                "start, not by CloudFormation.",
            )
        )

        self.log_router = self.task_definition.add_firelens_log_router(
            LOG_ROUTER_CONTAINER,
            image=images.image("log-router"),
            docker_labels=images.base_labels("log-router"),
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
                "SERVICE_NAME": SERVICE_NAMES[process],
                "ENVIRONMENT": config.environment,
                "AWS_REGION": region,
                "CLOUDWATCH_LOG_GROUP": self.durable_logs.log_group_name,
                "CLOUDWATCH_MATCH": DURABLE_COPY_MATCH,
            },
            # The router's own logs must not go through itself.
            logging=ecs.LogDrivers.aws_logs(stream_prefix="log-router", log_group=sidecar_logs),
        )

        self.app = self.task_definition.add_container(
            APP_CONTAINER,
            image=images.image("app"),
            essential=True,
            memory_reservation_mib=512,
            environment=app_environment(config, resources, region, process, auth_environment),
            # Options live in fluent-bit.conf (the [OUTPUT] to Loki).
            logging=ecs.LogDrivers.firelens(options={}),
            # The API runs the image's default command and serves HTTP; the worker has no port.
            command=WORKER_COMMAND if worker else None,
            port_mappings=None
            if worker
            else [ecs.PortMapping(container_port=APP_PORT, name="http")],
            health_check=None if worker else _api_health_check(),
            # On SIGTERM: in-flight requests (up to 20 s), the outbox drain (5 s), the
            # telemetry flush; then the process exits 0.
            stop_timeout=Duration.seconds(45),
        )
        self.app.add_container_dependencies(
            ecs.ContainerDependency(
                container=self.collector, condition=ecs.ContainerDependencyCondition.HEALTHY
            ),
            ecs.ContainerDependency(
                container=self.log_router, condition=ecs.ContainerDependencyCondition.START
            ),
        )

        for statement in task_role_statements(process, resources, region):
            self.task_definition.add_to_task_role_policy(statement)
        self.task_definition.add_to_task_role_policy(durable_log_statement(self.durable_logs))
        suppress_task_definition_findings(self.task_definition)
        suppress(
            self.task_definition.task_role,
            "AwsSolutions-IAM5",
            "X-Ray's PutTraceSegments, PutTelemetryRecords, GetSamplingRules and "
            "GetSamplingTargets (used by the ADOT sidecar) have no resource-level permissions.",
            applies_to=["Resource::*"],
        )


def _api_health_check() -> ecs.HealthCheck:
    return ecs.HealthCheck(
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
    )
