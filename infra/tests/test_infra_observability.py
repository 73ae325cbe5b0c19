"""Observability backends: AMP, Loki and Grafana on ECS behind private DNS names."""

from __future__ import annotations

from typing import Any

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
from logger_app_infra.app_builder import LoggerAppStacks


def _service(stacks: LoggerAppStacks, name: str) -> dict[str, Any]:
    construct = getattr(stacks.observability, name).service
    props: dict[str, Any] = resources(stacks.observability, "AWS::ECS::Service")[
        logical_id(stacks.observability, construct)
    ]["Properties"]
    return props


def _task(stacks: LoggerAppStacks, name: str) -> dict[str, Any]:
    service = _service(stacks, name)
    task_id = service["TaskDefinition"]["Ref"]
    found: dict[str, Any] = resources(stacks.observability, "AWS::ECS::TaskDefinition")[task_id]
    return found


def test_prometheus_workspace_exists(prod: LoggerAppStacks) -> None:
    assert only(prod.observability, "AWS::APS::Workspace")["Alias"] == "logger-app-prod"


def test_private_dns_zone_names_loki_and_grafana(prod: LoggerAppStacks) -> None:
    namespace = only(prod.observability, "AWS::ServiceDiscovery::PrivateDnsNamespace")
    assert namespace["Name"] == "prod.logger-app.internal"
    names = {
        s["Properties"]["Name"]
        for s in resources(prod.observability, "AWS::ServiceDiscovery::Service").values()
    }
    assert names == {"loki", "grafana"}


def test_loki_and_grafana_run_one_task_at_a_time_without_public_ip(prod: LoggerAppStacks) -> None:
    for name in ("loki", "grafana"):
        service = _service(prod, name)
        assert service["DesiredCount"] == 1
        assert service["DeploymentConfiguration"]["MinimumHealthyPercent"] == 0
        assert service["DeploymentConfiguration"]["MaximumPercent"] == 100
        network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED"
        assert all("PrivateSubnet" in str(subnet) for subnet in network["Subnets"])


def test_no_ecs_service_anywhere_has_a_public_ip(prod: LoggerAppStacks) -> None:
    services = [s for stack in prod.all() for s in resources(stack, "AWS::ECS::Service").values()]
    assert len(services) == 4  # API, worker, Loki, Grafana
    for service in services:
        network = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED"


def test_loki_and_grafana_mount_efs_access_points_with_tls_and_iam(prod: LoggerAppStacks) -> None:
    for name, mount_path in (("loki", "/loki"), ("grafana", "/var/lib/grafana")):
        task = _task(prod, name)
        (volume,) = task["Properties"]["Volumes"]
        efs = volume["EFSVolumeConfiguration"]
        assert efs["TransitEncryption"] == "ENABLED"
        assert efs["AuthorizationConfig"]["IAM"] == "ENABLED"
        assert "AccessPoint" in str(efs["AuthorizationConfig"]["AccessPointId"])
        (mount,) = container(task, name)["MountPoints"]
        assert mount["ContainerPath"] == mount_path
    template(prod.observability).has_resource_properties(
        "AWS::EFS::FileSystem",
        {"Encrypted": True, "BackupPolicy": {"Status": "ENABLED"}},
    )
    assert len(resources(prod.observability, "AWS::EFS::AccessPoint")) == 2


def test_loki_stores_chunks_in_an_encrypted_private_bucket(prod: LoggerAppStacks) -> None:
    bucket_id = logical_id(prod.observability, prod.observability.loki.bucket)
    bucket = resources(prod.observability, "AWS::S3::Bucket")[bucket_id]["Properties"]
    encryption = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    assert bucket["LoggingConfiguration"]["LogFilePrefix"] == "s3/loki-chunks/"
    env = environment(container(_task(prod, "loki"), "loki"))
    assert env["LOKI_S3_BUCKET"] == {"Ref": bucket_id}
    assert env["LOKI_RETENTION_PERIOD"] == "2160h"


def test_loki_task_role_reaches_only_its_bucket_key_and_access_point(prod: LoggerAppStacks) -> None:
    task = _task(prod, "loki")
    role = task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    found = statements(prod.observability, role)
    assert {s["Sid"] for s in found} == {
        "MountLokiAccessPoint",
        "ListChunks",
        "ReadWriteChunks",
        "UseChunksKey",
    }
    for statement in found:
        assert statement["Resource"] != "*"
        assert "LokiChunks" in str(statement["Resource"]) or "FileSystem" in str(
            statement["Resource"]
        )


def test_loki_is_reachable_only_from_app_tasks_grafana_and_verify(prod: LoggerAppStacks) -> None:
    access = prod.access
    # The verify task reads the journey's lines back (docs/verify.md).
    assert ingress_sources(access, logical_id(access, access.loki_security_group)) == {
        (logical_id(access, access.app_security_group), 3100),
        (logical_id(access, access.worker_security_group), 3100),
        (logical_id(access, access.grafana_security_group), 3100),
        (logical_id(access, access.verify_security_group), 3100),
    }


def test_grafana_is_reachable_only_from_the_vpn(dev: LoggerAppStacks) -> None:
    access = dev.access
    # The load balancer's group is kept without the certificate (access.py); it lets nothing in.
    alb = logical_id(access, access.grafana_load_balancer_security_group)
    assert ingress_sources(access, alb) == set()
    assert ingress_sources(access, logical_id(access, access.grafana_security_group)) == {
        (logical_id(access, access.vpn_security_group), 3000)
    }


def test_with_a_certificate_grafana_is_reachable_only_through_its_https_alb(
    prod: LoggerAppStacks,
) -> None:
    access = prod.access
    alb = access.grafana_load_balancer_security_group
    assert ingress_sources(access, logical_id(access, access.grafana_security_group)) == {
        (logical_id(access, alb), 3000)
    }
    assert ingress_sources(access, logical_id(access, alb)) == {
        (logical_id(access, access.vpn_security_group), 443)
    }


def test_grafana_reads_its_admin_password_from_secrets_manager(prod: LoggerAppStacks) -> None:
    grafana = container(_task(prod, "grafana"), "grafana")
    secrets = {s["Name"]: s["ValueFrom"] for s in grafana["Secrets"]}
    assert "GrafanaAdminPassword" in str(secrets["GF_SECURITY_ADMIN_PASSWORD"])
    env = environment(grafana)
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env
    # Rollback journal: SQLite's WAL does not work on a network file system.
    assert env["GF_DATABASE_TYPE"] == "sqlite3"
    assert env["GF_DATABASE_WAL"] == "false"
    # The staff dashboard's "today": the company's time zone (an input, UTC by default).
    assert env["GF_USERS_DEFAULT_TIMEZONE"] == "UTC"
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert env["LOKI_URL"] == "http://loki.prod.logger-app.internal:3100"
    assert "PrometheusWorkspace" in str(env["AMP_QUERY_URL"])
    assert env["AWS_REGION"] == "eu-west-1"


def test_grafana_may_query_only_its_workspace(prod: LoggerAppStacks) -> None:
    task = _task(prod, "grafana")
    role = task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    for statement in statements(prod.observability, role):
        actions = as_list(statement["Action"])
        if any(action.startswith("aps:") for action in actions):
            assert "PrometheusWorkspace" in str(statement["Resource"])
            assert "aps:RemoteWrite" not in actions
        if statement["Resource"] == "*":
            assert all(
                action.startswith("xray:Get")
                or action in {"xray:BatchGetTraces", "ec2:DescribeRegions"}
                for action in actions
            )


def test_grafana_may_read_what_the_xray_data_source_asks_for(prod: LoggerAppStacks) -> None:
    """AWS's minimal policy for the X-Ray data source, GetInsight and DescribeRegions included."""
    role = _task(prod, "grafana")["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    (reads,) = [s for s in statements(prod.observability, role) if s.get("Sid") == "ReadTraces"]
    assert set(as_list(reads["Action"])) == {
        "xray:BatchGetTraces",
        "xray:GetTraceSummaries",
        "xray:GetTraceGraph",
        "xray:GetGroups",
        "xray:GetTimeSeriesServiceStatistics",
        "xray:GetInsightSummaries",
        "xray:GetInsight",
        "xray:GetServiceGraph",
        "ec2:DescribeRegions",
    }


def test_grafana_url_is_published_for_staff(prod: LoggerAppStacks, dev: LoggerAppStacks) -> None:
    # With grafanaCertificateArn: the HTTPS load balancer; without: the task itself.
    template(prod.observability).has_output(
        "GrafanaUrl", {"Value": "https://dashboards.prod.logger-app.internal"}
    )
    template(dev.observability).has_output(
        "GrafanaUrl", {"Value": "http://grafana.dev.logger-app.internal:3000"}
    )


def test_loki_checks_its_own_readiness_without_a_shell(prod: LoggerAppStacks) -> None:
    check = container(_task(prod, "loki"), "loki")["HealthCheck"]
    assert check["Command"] == ["CMD", "/usr/bin/loki", "-health"]


def test_loki_and_grafana_start_only_once_the_mount_targets_are_available(
    prod: LoggerAppStacks, dev: LoggerAppStacks
) -> None:
    for stacks in (prod, dev):
        mount_targets = set(resources(stacks.observability, "AWS::EFS::MountTarget"))
        assert len(mount_targets) == 2
        for name in ("loki", "grafana"):
            construct = getattr(stacks.observability, name).service
            service = resources(stacks.observability, "AWS::ECS::Service")[
                logical_id(stacks.observability, construct)
            ]
            assert mount_targets <= set(service.get("DependsOn", [])), name


def _file_system(stacks: LoggerAppStacks) -> dict[str, Any]:
    props: dict[str, Any] = only(stacks.observability, "AWS::EFS::FileSystem")
    return props


def test_file_system_policy_denies_plain_nfs_root_and_access_outside_access_points(
    prod: LoggerAppStacks,
) -> None:
    policy = _file_system(prod)["FileSystemPolicy"]
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert set(by_sid) == {
        "DenyUnencryptedTransport",
        "DenyAccessOutsideAccessPoints",
        "DenyRootAccess",
    }
    for statement in by_sid.values():
        assert statement["Effect"] == "Deny"
        assert statement["Principal"] == {"AWS": "*"}
    assert by_sid["DenyUnencryptedTransport"]["Action"] == "*"
    assert by_sid["DenyUnencryptedTransport"]["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }
    assert set(as_list(by_sid["DenyAccessOutsideAccessPoints"]["Action"])) == {
        "elasticfilesystem:ClientMount",
        "elasticfilesystem:ClientWrite",
        "elasticfilesystem:ClientRootAccess",
    }
    assert by_sid["DenyAccessOutsideAccessPoints"]["Condition"] == {
        "Null": {"elasticfilesystem:AccessPointArn": "true"}
    }
    assert by_sid["DenyRootAccess"]["Action"] == "elasticfilesystem:ClientRootAccess"


def test_file_system_policy_allows_nothing_so_anonymous_clients_get_nothing(
    prod: LoggerAppStacks,
) -> None:
    """With a policy in place EFS no longer grants anonymous (non-IAM) clients full access:
    they get what the policy allows to everyone, which is nothing. The tasks' grants are in
    their own roles, each limited to its access point."""
    policy = _file_system(prod)["FileSystemPolicy"]
    assert [s for s in policy["Statement"] if s["Effect"] == "Allow"] == []
    for name in ("loki", "grafana"):
        role = _task(prod, name)["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
        (mount,) = [s for s in statements(prod.observability, role) if "Mount" in s["Sid"]]
        assert "elasticfilesystem:AccessPointArn" in mount["Condition"]["StringEquals"]
        assert "elasticfilesystem:ClientRootAccess" not in as_list(mount["Action"])


def test_file_system_is_encrypted_with_its_own_rotating_key(prod: LoggerAppStacks) -> None:
    file_system = _file_system(prod)
    assert file_system["Encrypted"] is True
    key_id = file_system["KmsKeyId"]["Fn::GetAtt"][0]
    key = resources(prod.observability, "AWS::KMS::Key")[key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert "EFS" in key["Properties"]["Description"]
