"""The service: three containers, an internal ALB, least-privilege task role, autoscaling."""

from __future__ import annotations

from typing import Any

import pytest
from infra_helpers import (
    as_list,
    container,
    environment,
    ingress_sources,
    logical_id,
    only,
    resources,
    statements,
    template,
)
from infra_settings import ALB_CERTIFICATE, REPO
from logger_app_infra.app_builder import LoggerAppStacks

# Written out, not imported: the tests pin what each process may do (the service contract).
API_TABLE_ACTIONS = {
    "RecordsTable": [
        "dynamodb:ConditionCheckItem",
        "dynamodb:DescribeTable",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ],
    "PatientsTable": [
        "dynamodb:ConditionCheckItem",
        "dynamodb:DescribeTable",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ],
    "OutboxTable": ["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:Query"],
}
WORKER_TABLE_ACTIONS = {
    "OutboxTable": ["dynamodb:PutItem"],
    "PatientsTable": ["dynamodb:UpdateItem"],
}
API_QUEUE_ACTIONS = ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"]
WORKER_QUEUE_ACTIONS = [
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
]
XRAY_WRITE_ACTIONS = [
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
]


def _task(stacks: LoggerAppStacks, worker: bool = False) -> dict[str, Any]:
    construct = stacks.service.worker_task if worker else stacks.service.task
    found: dict[str, Any] = resources(stacks.service, "AWS::ECS::TaskDefinition")[
        logical_id(stacks.service, construct.task_definition)
    ]
    return found


def test_task_has_the_app_collector_and_log_router(prod: LoggerAppStacks) -> None:
    names = [c["Name"] for c in _task(prod)["Properties"]["ContainerDefinitions"]]
    assert sorted(names) == ["app", "aws-otel-collector", "log-router"]
    for name in names:
        assert container(_task(prod), name)["Essential"] is True


def test_app_waits_for_a_healthy_collector(prod: LoggerAppStacks) -> None:
    depends = container(_task(prod), "app")["DependsOn"]
    assert {"ContainerName": "aws-otel-collector", "Condition": "HEALTHY"} in depends


def test_collector_health_check_runs_the_healthcheck_binary_without_a_shell(
    prod: LoggerAppStacks,
) -> None:
    check = container(_task(prod), "aws-otel-collector")["HealthCheck"]
    assert check["Command"] == ["CMD", "/healthcheck"]


def test_collector_config_is_the_repository_file(prod: LoggerAppStacks) -> None:
    env = environment(container(_task(prod), "aws-otel-collector"))
    assert env["AOT_CONFIG_CONTENT"] == (REPO / "otel-collector.yaml").read_text(encoding="utf-8")
    assert env["AWS_REGION"] == "eu-west-1"
    remote_write = env["AMP_REMOTE_WRITE_ENDPOINT"]
    assert "api/v1/remote_write" in str(remote_write)
    assert "PrometheusWorkspace" in str(remote_write)


def test_log_router_is_firelens_with_the_file_config(prod: LoggerAppStacks) -> None:
    router = container(_task(prod), "log-router")
    assert router["FirelensConfiguration"] == {
        "Type": "fluentbit",
        "Options": {
            "config-file-type": "file",
            "config-file-value": "/extra.conf",
            "enable-ecs-log-metadata": "true",
        },
    }
    env = environment(router)
    assert env["LOKI_HOST"] == "loki.prod.logger-app.internal"
    assert env["LOKI_PORT"] == "3100"
    assert env["ENVIRONMENT"] == "prod"
    assert env["SERVICE_NAME"] == "logger-app"
    # Its own logs must not loop through itself.
    assert router["LogConfiguration"]["LogDriver"] == "awslogs"


@pytest.mark.parametrize("worker", [False, True], ids=["api", "worker"])
def test_log_router_copies_every_record_to_its_own_encrypted_log_group(
    prod: LoggerAppStacks, worker: bool
) -> None:
    env = environment(container(_task(prod, worker), "log-router"))
    assert env["CLOUDWATCH_MATCH"] == "buffered.*"  # the tag fluent-bit.conf re-emits under
    (group_ref,) = env["CLOUDWATCH_LOG_GROUP"].values()
    group = resources(prod.service, "AWS::Logs::LogGroup")[group_ref]
    assert "DurableLogs" in group_ref
    # Six years, as HIPAA keeps required records; kept when the stack goes.
    assert group["Properties"]["RetentionInDays"] == 2192
    assert "Fn::GetAtt" in group["Properties"]["KmsKeyId"]
    assert group["DeletionPolicy"] == "Retain"


def test_app_logs_go_through_firelens(prod: LoggerAppStacks) -> None:
    assert container(_task(prod), "app")["LogConfiguration"]["LogDriver"] == "awsfirelens"


def test_app_environment_follows_the_telemetry_contract(prod: LoggerAppStacks) -> None:
    env = environment(container(_task(prod), "app"))
    assert {k: v for k, v in env.items() if k.startswith("OTEL_")} == {
        "OTEL_SERVICE_NAME": "logger-app",
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
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod",
    }
    assert "RecordsTable" in str(env["LOGGER_APP_RECORDS_TABLE"])
    assert "PatientsTable" in str(env["LOGGER_APP_PATIENTS_TABLE"])
    assert "EventsQueue" in str(env["LOGGER_APP_QUEUE_URL"])
    assert "EventsQueue" in str(env["LOGGER_APP_QUEUE_NAME"])
    assert env["LOGGER_APP_ENVIRONMENT"] == "prod"
    assert env["LOGGER_APP_REGION"] == "eu-west-1"


def test_the_api_believes_forwarded_addresses_from_the_vpc_only(prod: LoggerAppStacks) -> None:
    """uvicorn's --forwarded-allow-ips (`logger-app serve` reads LOGGER_APP_TRUSTED_PROXIES):
    the load balancers' addresses are in the VPC; never `*`. The worker serves nothing."""
    api = environment(container(_task(prod), "app"))
    assert api["LOGGER_APP_TRUSTED_PROXIES"] == prod.config.vpc_cidr == "10.40.0.0/16"
    worker = environment(container(_task(prod, worker=True), "app"))
    assert "LOGGER_APP_TRUSTED_PROXIES" not in worker


def test_images_come_from_ecr_at_the_configured_tag(prod: LoggerAppStacks) -> None:
    app_image = str(container(_task(prod), "app")["Image"])
    assert "AppRepository" in app_image
    assert ":0123abc" in app_image
    assert "LogRouterRepository" in str(container(_task(prod), "log-router")["Image"])


def _check_role(
    stacks: LoggerAppStacks,
    role_construct: Any,
    table_actions: dict[str, list[str]],
    queue_actions: list[str],
    *,
    reads_dead_letter_depth: bool = False,
) -> None:
    role = logical_id(stacks.service, role_construct)
    found = statements(stacks.service, role)
    by_sid = {s["Sid"]: s for s in found}
    expected_sids = {name for name in table_actions} | {
        "Queue",
        "DataKeyViaTablesAndQueue",
        "PrometheusRemoteWrite",
        "XRayWrite",
        "DurableLogCopy",
    }
    if reads_dead_letter_depth:
        expected_sids.add("DeadLetterQueueDepth")
        assert sorted(as_list(by_sid["DeadLetterQueueDepth"]["Action"])) == [
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
        ]
        assert "DeadLetter" in str(by_sid["DeadLetterQueueDepth"]["Resource"])
    assert set(by_sid) == expected_sids
    for table, actions in table_actions.items():
        statement = by_sid[table]
        assert sorted(as_list(statement["Action"])) == sorted(actions)
        (resource,) = as_list(statement["Resource"])
        assert table in str(resource)
    assert sorted(as_list(by_sid["Queue"]["Action"])) == sorted(queue_actions)
    assert "EventsQueue" in str(by_sid["Queue"]["Resource"])
    assert "DeadLetter" not in str(by_sid["Queue"]["Resource"])
    assert as_list(by_sid["PrometheusRemoteWrite"]["Action"]) == ["aps:RemoteWrite"]
    assert "PrometheusWorkspace" in str(by_sid["PrometheusRemoteWrite"]["Resource"])
    assert "kms:ViaService" in by_sid["DataKeyViaTablesAndQueue"]["Condition"]["StringEquals"]
    assert sorted(as_list(by_sid["DurableLogCopy"]["Action"])) == [
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    (durable_logs,) = as_list(by_sid["DurableLogCopy"]["Resource"])
    assert "DurableLogs" in str(durable_logs)
    for statement in found:
        actions = as_list(statement["Action"])
        assert not any(action.endswith("*") for action in actions), actions
        if statement["Resource"] == "*":
            # Only X-Ray, which has no resource-level permissions for these actions.
            assert sorted(actions) == sorted(XRAY_WRITE_ACTIONS)


def test_api_task_role_names_only_the_api_resources(prod: LoggerAppStacks) -> None:
    _check_role(
        prod,
        prod.service.task.task_definition.task_role,
        API_TABLE_ACTIONS,
        API_QUEUE_ACTIONS,
    )


def test_worker_task_role_names_only_the_worker_resources(prod: LoggerAppStacks) -> None:
    _check_role(
        prod,
        prod.service.worker_task.task_definition.task_role,
        WORKER_TABLE_ACTIONS,
        WORKER_QUEUE_ACTIONS,
        reads_dead_letter_depth=True,
    )


def test_worker_runs_the_worker_command_with_its_own_service_name(prod: LoggerAppStacks) -> None:
    task = _task(prod, worker=True)
    names = sorted(c["Name"] for c in task["Properties"]["ContainerDefinitions"])
    assert names == ["app", "aws-otel-collector", "log-router"]
    app = container(task, "app")
    assert app["Command"] == ["logger-app", "worker"]
    assert "PortMappings" not in app or app["PortMappings"] == []
    assert {"ContainerName": "aws-otel-collector", "Condition": "HEALTHY"} in app["DependsOn"]
    assert environment(app)["OTEL_SERVICE_NAME"] == "logger-app-worker"
    assert environment(container(task, "log-router"))["SERVICE_NAME"] == "logger-app-worker"
    assert "OutboxTable" in str(environment(app)["LOGGER_APP_OUTBOX_TABLE"])


def test_worker_service_is_private_and_scales_on_queue_backlog(prod: LoggerAppStacks) -> None:
    worker_id = logical_id(prod.service, prod.service.worker)
    worker = resources(prod.service, "AWS::ECS::Service")[worker_id]["Properties"]
    assert worker["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    assert worker.get("LoadBalancers", []) == []  # no target group (explicitly empty)
    template(prod.service).has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "ApproximateNumberOfMessagesVisible", "Namespace": "AWS/SQS"},
    )


def test_the_only_load_balancer_is_internal(prod: LoggerAppStacks) -> None:
    for stack in prod.all():
        for lb in resources(stack, "AWS::ElasticLoadBalancingV2::LoadBalancer").values():
            assert lb["Properties"]["Scheme"] == "internal"
    lb = only(prod.service, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = {a["Key"]: a["Value"] for a in lb["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["deletion_protection.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"


def test_https_listener_with_the_configured_certificate(prod: LoggerAppStacks) -> None:
    listener = only(prod.service, "AWS::ElasticLoadBalancingV2::Listener")
    assert listener["Protocol"] == "HTTPS"
    assert listener["Port"] == 443
    assert listener["Certificates"] == [{"CertificateArn": ALB_CERTIFICATE}]
    assert listener["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")


def test_http_listener_without_a_certificate(dev: LoggerAppStacks) -> None:
    listener = only(dev.service, "AWS::ElasticLoadBalancingV2::Listener")
    assert listener["Protocol"] == "HTTP"
    assert listener["Port"] == 80
    alb_group = logical_id(dev.access, dev.access.alb_security_group)
    vpn_group = logical_id(dev.access, dev.access.vpn_security_group)
    verify_group = logical_id(dev.access, dev.access.verify_security_group)
    assert ingress_sources(dev.access, alb_group) == {(vpn_group, 80), (verify_group, 80)}


def test_alb_is_reachable_only_from_the_vpn_and_the_verify_task(prod: LoggerAppStacks) -> None:
    alb_group = logical_id(prod.access, prod.access.alb_security_group)
    vpn_group = logical_id(prod.access, prod.access.vpn_security_group)
    verify_group = logical_id(prod.access, prod.access.verify_security_group)
    assert ingress_sources(prod.access, alb_group) == {(vpn_group, 443), (verify_group, 443)}


def test_target_group_checks_healthz(prod: LoggerAppStacks) -> None:
    group = only(prod.service, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert group["HealthCheckPath"] == "/healthz"
    assert group["Port"] == 8000
    assert group["TargetType"] == "ip"


def test_service_runs_in_private_subnets_without_public_ip(prod: LoggerAppStacks) -> None:
    service = resources(prod.service, "AWS::ECS::Service")[
        logical_id(prod.service, prod.service.service)
    ]["Properties"]
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert all("PrivateSubnet" in str(subnet) for subnet in network["Subnets"])
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }


def test_autoscaling_on_cpu_and_request_count(prod: LoggerAppStacks) -> None:
    service_id = logical_id(prod.service, prod.service.service)
    (target_id, target) = next(
        (key, value["Properties"])
        for key, value in resources(
            prod.service, "AWS::ApplicationAutoScaling::ScalableTarget"
        ).items()
        if service_id in str(value["Properties"]["ResourceId"])
    )
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 10)
    metrics = {
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"][
            "PredefinedMetricSpecification"
        ]["PredefinedMetricType"]
        for p in resources(prod.service, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
        if p["Properties"].get("ScalingTargetId") == {"Ref": target_id}
    }
    assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}


def test_container_insights_on_both_clusters(prod: LoggerAppStacks) -> None:
    for stack in (prod.service, prod.observability):
        template(stack).has_resource_properties(
            "AWS::ECS::Cluster",
            {"ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]},
        )


def test_api_has_a_private_dns_name_beside_loki_and_grafana(prod: LoggerAppStacks) -> None:
    record = only(prod.service, "AWS::Route53::RecordSet")
    assert record["Name"] == "api.prod.logger-app.internal."
    assert "Namespace" in str(record["HostedZoneId"])
    assert "LoadBalancer" in str(record["AliasTarget"]["DNSName"])
    template(prod.service).has_output("AppUrl", {"Value": "https://api.prod.logger-app.internal"})


def test_collector_labels_container_metrics_with_the_service_and_environment(
    prod: LoggerAppStacks,
) -> None:
    env = environment(container(_task(prod), "aws-otel-collector"))
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == (
        "service.name=logger-app,deployment.environment=prod"
    )


def test_app_has_time_for_a_graceful_shutdown(prod: LoggerAppStacks) -> None:
    # uvicorn's 20 s for in-flight requests, the 5 s outbox drain, then the telemetry flush.
    assert container(_task(prod), "app")["StopTimeout"] >= 35


@pytest.mark.parametrize("deployment", ["prod", "dev"])
def test_no_task_definition_can_enable_the_local_token_issuer(
    deployment: str, request: pytest.FixtureRequest
) -> None:
    """The local issuer (`make run`'s, LOGGER_APP_LOCAL_ISSUER_DIR) trusts a key pair anyone can
    make: no container on AWS may carry any setting of it."""
    stacks: LoggerAppStacks = request.getfixturevalue(deployment)
    definitions = [
        definition
        for stack in stacks.all()
        for task in resources(stack, "AWS::ECS::TaskDefinition").values()
        for definition in task["Properties"]["ContainerDefinitions"]
    ]
    assert len(definitions) >= 6  # the API's, the worker's, Loki's and Grafana's tasks at least
    for definition in definitions:
        names = [item["Name"] for item in definition.get("Environment", [])]
        names += [item["Name"] for item in definition.get("Secrets", [])]
        assert not [name for name in names if "LOCAL_ISSUER" in name.upper()], definition["Name"]
