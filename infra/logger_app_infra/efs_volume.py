"""EFS working directories for single-writer ECS services (Loki, Grafana): an access point mounted
with TLS and IAM authorisation, and a service that never runs two tasks on it at once."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_servicediscovery as servicediscovery
from constructs import Construct


def mount_access_point(
    scope: Construct,
    *,
    file_system: efs.FileSystem,
    task_definition: ecs.FargateTaskDefinition,
    container: ecs.ContainerDefinition,
    name: str,
    path: str,
    uid: str,
    gid: str,
    container_path: str,
) -> efs.AccessPoint:
    """Give the task its own directory on the file system, owned by the container's user."""
    access_point = efs.AccessPoint(
        scope,
        f"{name.title()}AccessPoint",
        file_system=file_system,
        path=path,
        posix_user=efs.PosixUser(uid=uid, gid=gid),
        create_acl=efs.Acl(owner_uid=uid, owner_gid=gid, permissions="750"),
    )
    task_definition.add_volume(
        name=name,
        efs_volume_configuration=ecs.EfsVolumeConfiguration(
            file_system_id=file_system.file_system_id,
            transit_encryption="ENABLED",
            authorization_config=ecs.AuthorizationConfig(
                access_point_id=access_point.access_point_id, iam="ENABLED"
            ),
        ),
    )
    container.add_mount_points(
        ecs.MountPoint(container_path=container_path, source_volume=name, read_only=False)
    )
    task_definition.add_to_task_role_policy(
        iam.PolicyStatement(
            sid=f"Mount{name.title()}AccessPoint",
            actions=["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
            resources=[file_system.file_system_arn],
            conditions={
                "StringEquals": {"elasticfilesystem:AccessPointArn": access_point.access_point_arn}
            },
        )
    )
    return access_point


def single_writer_service(
    scope: Construct,
    *,
    name: str,
    cluster: ecs.ICluster,
    task_definition: ecs.FargateTaskDefinition,
    security_group: ec2.ISecurityGroup,
    namespace: servicediscovery.IPrivateDnsNamespace,
    file_system: efs.FileSystem,
) -> ecs.FargateService:
    """One task, in the private subnets, named `<name>` in the private zone; a deployment stops
    the old task before it starts the new one, so two never write the EFS directory at once."""
    service = ecs.FargateService(
        scope,
        "Service",
        cluster=cluster,
        task_definition=task_definition,
        desired_count=1,
        min_healthy_percent=0,
        max_healthy_percent=100,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        security_groups=[security_group],
        assign_public_ip=False,
        cloud_map_options=ecs.CloudMapOptions(
            name=name,
            cloud_map_namespace=namespace,
            dns_record_type=servicediscovery.DnsRecordType.A,
            dns_ttl=Duration.seconds(10),
        ),
        circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
    )
    file_system.connections.allow_default_port_from(service, f"{name.title()} to EFS")
    # A task started before the mount targets are available fails to mount; three such
    # failures trip the circuit breaker and roll the whole stack back on a first create.
    service.node.add_dependency(file_system.mount_targets_available)
    return service
