"""`logger-app verify` on AWS: the one-off task, its read-only role, its network, and what the
deploy role may do with it (verify_task.py)."""

from __future__ import annotations

import re
from typing import Any

from infra_helpers import (
    as_list,
    container,
    environment,
    logical_id,
    resources,
    statements,
    template,
)
from logger_app_infra.app_builder import LoggerAppStacks
from logger_app_infra.ports import LOKI_PORT

WRITE = re.compile(r":(Put|Create|Update|Delete|Write|Send|Remote|Batch(?!Get)|Tag|Start)")


def _task_definition(stacks: LoggerAppStacks) -> dict[str, Any]:
    task_id = logical_id(stacks.service, stacks.service.verify.task_definition)
    found: dict[str, Any] = resources(stacks.service, "AWS::ECS::TaskDefinition")[task_id]
    return found


def _option(command: list[Any], name: str) -> Any:
    return command[command.index(name) + 1]


def _output(stacks: LoggerAppStacks, name: str, stack: str = "service") -> Any:
    outputs = template(getattr(stacks, stack)).find_outputs(name)
    return outputs[name]["Value"]


def test_verify_runs_the_apps_image_with_the_deployments_values(prod: LoggerAppStacks) -> None:
    task = _task_definition(prod)
    verify = container(task, "verify")
    app_task = resources(prod.service, "AWS::ECS::TaskDefinition")[
        logical_id(prod.service, prod.service.task.task_definition)
    ]
    assert verify["Image"] == container(app_task, "app")["Image"]
    assert task["Properties"]["Family"] == "logger-app-prod-verify"
    assert task["Properties"]["RequiresCompatibilities"] == ["FARGATE"]
    command = verify["Command"]
    assert command[:2] == ["logger-app", "verify"]
    # The internal load balancer's name in the private zone, as the app is reached.
    assert (
        _option(command, "--api")
        == _output(prod, "AppUrl")
        == "https://api.prod.logger-app.internal"
    )
    token_outputs = template(prod.service).find_outputs("*")
    [token_url] = [o["Value"] for k, o in token_outputs.items() if "TokenEndpoint" in k]
    assert _option(command, "--token-url") == token_url
    assert _option(command, "--region") == "eu-west-1"
    assert "PrometheusWorkspaceWorkspaceId" in str(_option(command, "--amp-workspace"))
    assert "--xray" in command
    durable = logical_id(prod.service, prod.service.task.durable_logs)
    assert _option(command, "--cloudwatch-log-group") == {"Ref": durable}
    worker = logical_id(prod.service, prod.service.worker_task.durable_logs)
    assert _option(command, "--cloudwatch-worker-log-group") == {"Ref": worker}
    assert _option(command, "--loki") == f"http://loki.prod.logger-app.internal:{LOKI_PORT}"
    assert _option(command, "--deadline") == "300"


def test_verify_gets_its_client_id_and_the_secret_from_secrets_manager(
    prod: LoggerAppStacks,
) -> None:
    verify = container(_task_definition(prod), "verify")
    client = logical_id(prod.service, prod.service.api_auth.verify_client)
    secret = logical_id(prod.service, prod.service.api_auth.verify_client_secret)
    assert environment(verify) == {"LOGGER_APP_VERIFY_CLIENT_ID": {"Ref": client}}
    assert verify["Secrets"] == [
        {"Name": "LOGGER_APP_VERIFY_CLIENT_SECRET", "ValueFrom": {"Ref": secret}}
    ]
    # Only the execution role reads the secret, and only this one.
    task = _task_definition(prod)["Properties"]
    readers = [
        (role, s)
        for role in resources(prod.service, "AWS::IAM::Role")
        for s in statements(prod.service, role)
        if "secretsmanager:GetSecretValue" in as_list(s["Action"])
        and s["Resource"] == {"Ref": secret}
    ]
    assert [role for role, _ in readers] == [task["ExecutionRoleArn"]["Fn::GetAtt"][0]]


def test_the_task_role_only_reads_the_deployments_sinks(prod: LoggerAppStacks) -> None:
    role = _task_definition(prod)["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    durable = logical_id(prod.service, prod.service.task.durable_logs)
    worker = logical_id(prod.service, prod.service.worker_task.durable_logs)
    granted = {
        (action, str(resource))
        for statement in statements(prod.service, role)
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }
    assert granted == {
        (
            "aps:QueryMetrics",
            str(
                {
                    "Fn::ImportValue": "LoggerApp-Prod-Observability:"
                    "ExportsOutputFnGetAttPrometheusWorkspaceArnBD7070A9"
                }
            ),
        ),
        # X-Ray's reads have no resource-level permissions.
        ("xray:BatchGetTraces", "*"),
        ("logs:FilterLogEvents", str({"Fn::GetAtt": [durable, "Arn"]})),
        ("logs:FilterLogEvents", str({"Fn::GetAtt": [worker, "Arn"]})),
    }
    assert not [action for action, _ in granted if WRITE.search(action)]


def _rules(stacks: LoggerAppStacks, kind: str, group: str) -> set[tuple[str, int]]:
    """(peer, port) of a group's separate rules of this kind, plus its inline CIDR egress."""
    access = stacks.access
    found: set[tuple[str, int]] = set()
    for rule in resources(access, f"AWS::EC2::SecurityGroup{kind}").values():
        props = rule["Properties"]
        peer_key = "DestinationSecurityGroupId" if kind == "Egress" else "SourceSecurityGroupId"
        if props["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}:
            found.add((props[peer_key]["Fn::GetAtt"][0], props["FromPort"]))
    return found


def test_the_verify_group_reaches_only_the_api_loki_and_https(prod: LoggerAppStacks) -> None:
    access = prod.access
    verify = logical_id(access, access.verify_security_group)
    alb = logical_id(access, access.alb_security_group)
    loki = logical_id(access, access.loki_security_group)
    group = resources(access, "AWS::EC2::SecurityGroup")[verify]["Properties"]
    inline = [(r["CidrIp"], r["FromPort"], r["ToPort"]) for r in group["SecurityGroupEgress"]]
    assert inline == [("0.0.0.0/0", 443, 443)]
    assert "SecurityGroupIngress" not in group
    assert _rules(prod, "Egress", verify) == {(alb, 443), (loki, LOKI_PORT)}
    assert _rules(prod, "Ingress", verify) == set()
    assert (verify, 443) in _rules(prod, "Ingress", alb)
    assert (verify, LOKI_PORT) in _rules(prod, "Ingress", loki)


def test_without_a_certificate_verify_reaches_the_api_on_its_http_listener(
    dev: LoggerAppStacks,
) -> None:
    access = dev.access
    verify = logical_id(access, access.verify_security_group)
    alb = logical_id(access, access.alb_security_group)
    assert (alb, 80) in _rules(dev, "Egress", verify)
    command = container(_task_definition(dev), "verify")["Command"]
    assert _option(command, "--api") == "http://api.dev.logger-app.internal"


def test_the_outputs_say_how_to_start_the_task(prod: LoggerAppStacks) -> None:
    service = prod.service
    assert _output(prod, "VerifyTaskDefinition") == "logger-app-prod-verify"
    assert _output(prod, "VerifyCluster") == {"Ref": logical_id(service, service.verify.cluster)}
    subnets = _output(prod, "VerifySubnets", "network")["Fn::Join"]
    assert subnets[0] == ","
    private = [{"Ref": logical_id(prod.network, s)} for s in prod.network.vpc.private_subnets]
    assert subnets[1] == private
    access = prod.access
    assert _output(prod, "VerifySecurityGroup", "access") == {
        "Fn::GetAtt": [logical_id(access, access.verify_security_group), "GroupId"]
    }
    log_group = logical_id(service, service.verify.log_group)
    assert _output(prod, "VerifyLogGroup") == {"Ref": log_group}
    verify = container(_task_definition(prod), "verify")
    assert verify["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": log_group}
    assert verify["LogConfiguration"]["Options"]["awslogs-stream-prefix"] == "verify"


def _deploy_statements(stacks: LoggerAppStacks) -> dict[str, dict[str, Any]]:
    delivery = stacks.delivery
    role = logical_id(delivery, delivery.deploy_role)
    return {s["Sid"]: s for s in statements(delivery, role) if "Verify" in s["Sid"]}


def test_the_deploy_role_may_only_start_watch_and_read_the_verify_task(
    prod: LoggerAppStacks,
) -> None:
    by_sid = _deploy_statements(prod)
    assert set(by_sid) == {
        "RunVerifyTask",
        "PassVerifyRoles",
        "WatchVerifyTask",
        "ReadVerifyReport",
    }
    arn = "arn:aws:ecs:eu-west-1:111111111111"
    # The verify task's own cluster, by the name the service stack gives it.
    cluster = prod.service.verify.cluster
    cluster_props = resources(prod.service, "AWS::ECS::Cluster")[logical_id(prod.service, cluster)][
        "Properties"
    ]
    assert cluster_props["ClusterName"] == "logger-app-prod-verify"
    in_cluster = {"ArnEquals": {"ecs:cluster": f"{arn}:cluster/logger-app-prod-verify"}}

    run = by_sid["RunVerifyTask"]
    assert run["Action"] == "ecs:RunTask"
    assert run["Resource"] == f"{arn}:task-definition/logger-app-prod-verify:*"
    assert run["Condition"] == in_cluster

    # Exactly the task's two roles: they, and only they, sit under this path.
    passed = by_sid["PassVerifyRoles"]
    assert passed["Action"] == "iam:PassRole"
    assert passed["Resource"] == "arn:aws:iam::111111111111:role/LoggerApp-Prod-verify/*"
    assert passed["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    task = _task_definition(prod)["Properties"]
    roles = resources(prod.service, "AWS::IAM::Role")
    under_path = {
        name
        for name, role in roles.items()
        if role["Properties"].get("Path") == "/LoggerApp-Prod-verify/"
    }
    assert under_path == {task[key]["Fn::GetAtt"][0] for key in ("TaskRoleArn", "ExecutionRoleArn")}

    watch = by_sid["WatchVerifyTask"]
    assert watch["Action"] == "ecs:DescribeTasks"
    assert watch["Resource"] == f"{arn}:task/logger-app-prod-verify/*"
    assert watch["Condition"] == in_cluster

    read = by_sid["ReadVerifyReport"]
    assert read["Action"] == "logs:GetLogEvents"
    assert read["Resource"] == (
        "arn:aws:logs:eu-west-1:111111111111:log-group:/logger-app/prod/verify:*"
    )
    log_group = resources(prod.service, "AWS::Logs::LogGroup")[
        logical_id(prod.service, prod.service.verify.log_group)
    ]
    assert log_group["Properties"]["LogGroupName"] == "/logger-app/prod/verify"


def test_the_deploy_role_names_nothing_of_the_service_stack(prod: LoggerAppStacks) -> None:
    """By name only: turning githubRepository off deletes the role, and no export with it."""
    granted = _deploy_statements(prod)
    assert granted
    assert "Fn::ImportValue" not in str(granted)
    assert "GitHubDeployRole" not in str(template(prod.service).to_json())
