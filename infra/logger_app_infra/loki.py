"""Loki: one single-binary task, chunks and index on S3, working directories on EFS."""

from __future__ import annotations

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_servicediscovery as servicediscovery
from constructs import Construct

from . import removal
from .config import DeploymentConfig
from .efs_volume import mount_access_point, single_writer_service
from .images import ImageCatalog
from .log_groups import encrypted_log_group
from .nag import suppress, suppress_task_definition_findings
from .ports import LOKI_PORT

LOKI_UID = "10001"  # the user the grafana/loki image runs as


class Loki(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        cluster: ecs.ICluster,
        file_system: efs.FileSystem,
        namespace: servicediscovery.IPrivateDnsNamespace,
        images: ImageCatalog,
        access_logs_bucket: s3.IBucket,
        security_group: ec2.ISecurityGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        prod = config.is_production
        self.retention_days = 90 if prod else 31

        key = kms.Key(
            self,
            "ChunksKey",
            description="Encrypts Loki chunks and index",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.bucket = s3.Bucket(
            self,
            "ChunksBucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=access_logs_bucket,
            server_access_logs_prefix="s3/loki-chunks/",
            lifecycle_rules=[
                # Loki's compactor enforces retention; versions it deletes go soon after.
                s3.LifecycleRule(noncurrent_version_expiration=Duration.days(7)),
                s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(1)),
            ],
            # Emptied by hand first when dataRemovalPolicy=destroy (CloudFormation deletes
            # only empty buckets).
            removal_policy=removal.data(config, named=False),
        )

        task_definition = ecs.FargateTaskDefinition(
            self, "TaskDefinition", cpu=1024, memory_limit_mib=2048
        )
        container = task_definition.add_container(
            "loki",
            image=images.image("loki"),
            docker_labels=images.base_labels("loki"),
            essential=True,
            port_mappings=[ecs.PortMapping(container_port=LOKI_PORT, name="http")],
            # The image is distroless (no shell): the binary checks its own /ready.
            health_check=ecs.HealthCheck(
                command=["CMD", "/usr/bin/loki", "-health"],
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                retries=5,
                # WAL replay from EFS after a restart can take a while.
                start_period=Duration.seconds(120),
            ),
            environment={
                "LOKI_S3_BUCKET": self.bucket.bucket_name,
                "AWS_REGION": Stack.of(self).region,
                "LOKI_RETENTION_PERIOD": f"{self.retention_days * 24}h",
            },
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="loki",
                log_group=encrypted_log_group(self, "Logs", retention=logs.RetentionDays.ONE_MONTH),
            ),
        )
        mount_access_point(
            self,
            file_system=file_system,
            task_definition=task_definition,
            container=container,
            name="loki",
            path="/loki",
            uid=LOKI_UID,
            gid=LOKI_UID,
            container_path="/loki",
        )
        task_definition.add_to_task_role_policy(
            iam.PolicyStatement(
                sid="ListChunks",
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
            )
        )
        task_definition.add_to_task_role_policy(
            iam.PolicyStatement(
                sid="ReadWriteChunks",
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[self.bucket.arn_for_objects("*")],
            )
        )
        task_definition.add_to_task_role_policy(
            iam.PolicyStatement(
                sid="UseChunksKey",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[key.key_arn],
            )
        )

        self.service = single_writer_service(
            self,
            name="loki",
            cluster=cluster,
            task_definition=task_definition,
            security_group=security_group,
            namespace=namespace,
            file_system=file_system,
        )

        suppress_task_definition_findings(task_definition)
        suppress(
            task_definition.task_role,
            "AwsSolutions-IAM5",
            "Loki names its chunk and index objects at run time; access is limited to the "
            "objects of its own bucket.",
            applies_to=[{"regex": "/^Resource::<.*LokiChunksBucket.*\\.Arn>\\/\\*$/"}],  # type: ignore[list-item]
        )
        suppress(
            self.bucket,
            "HIPAA.Security-S3BucketReplicationEnabled",
            "Log chunks are kept for a bounded retention in one region; the bucket is versioned. "
            "Cross-region replication needs a second region (docs/deployment.md, follow-ups).",
        )
        Annotations.of(self.bucket).acknowledge_warning(
            "@aws-cdk/aws-s3:accessLogsPolicyNotAdded",
            "The logs bucket's policy already admits S3 server access logs under s3/ "
            "(NetworkStack), by account, without naming this bucket.",
        )
        self.dns_name = f"loki.{namespace.namespace_name}"
