"""An EFS access point mounted into one ECS task with TLS and IAM authorisation."""

from __future__ import annotations

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
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
