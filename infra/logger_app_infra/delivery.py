"""Delivery: ECR repositories for the four images and the GitHub OIDC deploy role, which may also
start the verify task after a deploy."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import (
    Annotations,
    CfnOutput,
    DefaultStackSynthesizer,
    Duration,
    Stack,
)
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from . import removal
from .config import CREATE_OIDC_PROVIDER, DeploymentConfig
from .nag import suppress
from .verify_task import DEPLOY_ROLE_WILDCARDS, deploy_role_statements

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"

# Image name -> what builds it (see docs/deployment.md, "Images").
IMAGES: tuple[str, ...] = ("app", "log-router", "grafana", "loki")

_ECR_PUSH_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:DescribeImageScanFindings",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
]
# The roles `cdk bootstrap` creates; `cdk deploy` only assumes these.
_CDK_BOOTSTRAP_ROLES = ("deploy", "file-publishing", "image-publishing", "lookup")


class DeliveryStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeploymentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.repositories: dict[str, ecr.Repository] = {
            image: ecr.Repository(
                self,
                f"{image.title().replace('-', '')}Repository",
                repository_name=f"logger-app-{config.environment}/{image}",
                image_scan_on_push=True,
                image_tag_mutability=ecr.TagMutability.IMMUTABLE,
                encryption=ecr.RepositoryEncryption.KMS,
                lifecycle_rules=[ecr.LifecycleRule(max_image_count=100)],
                # Fixed names: kept, except when the create that made them rolls back.
                removal_policy=removal.NAMED,
            )
            for image in IMAGES
        }

        # Third-party images from ECR Public (the ADOT collector) are served from this registry:
        # ECR scanning sees them, and no task pulls from a public registry. Per environment, so
        # two environments in one account do not claim the same prefix.
        self.ecr_public_prefix = f"ecr-public-{config.environment}"
        cache_rule = ecr.CfnPullThroughCacheRule(
            self,
            "EcrPublicCache",
            ecr_repository_prefix=self.ecr_public_prefix,
            upstream_registry="ecr-public",
            upstream_registry_url="public.ecr.aws",
        )
        cache_rule.apply_removal_policy(removal.NAMED)
        # What ECR gives the repositories it creates on a first pull through the cache.
        cache_template = ecr.CfnRepositoryCreationTemplate(
            self,
            "EcrPublicCacheRepositories",
            prefix=self.ecr_public_prefix,
            applied_for=["PULL_THROUGH_CACHE"],
            description="Repositories of the ECR Public pull-through cache (logger-app)",
            encryption_configuration=ecr.CfnRepositoryCreationTemplate.EncryptionConfigurationProperty(
                encryption_type="KMS"
            ),
            # Tags are re-synced from upstream; deployments pull by digest.
            image_tag_mutability="MUTABLE",
            lifecycle_policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": "Keep the 20 most recent images",
                            "selection": {
                                "tagStatus": "any",
                                "countType": "imageCountMoreThan",
                                "countNumber": 20,
                            },
                            "action": {"type": "expire"},
                        }
                    ]
                }
            ),
        )
        cache_template.apply_removal_policy(removal.NAMED)

        for image, repository in self.repositories.items():
            CfnOutput(
                self,
                f"{image.title().replace('-', '')}RepositoryUri",
                value=repository.repository_uri,
            )

        self.image_role: iam.Role | None = None
        self.deploy_role: iam.Role | None = None
        if config.github_repository is None:
            Annotations.of(self).add_warning_v2(
                "logger-app:no-github-repository",
                "githubRepository is not set: no GitHub image or deploy role is created.",
            )
            return
        assert config.github_oidc_provider is not None  # load_config requires it with the repo
        if config.github_oidc_provider == CREATE_OIDC_PROVIDER:
            provider_arn = iam.OidcProviderNative(
                self,
                "GitHubOidcProvider",
                url=GITHUB_OIDC_URL,
                client_ids=["sts.amazonaws.com"],
                # One per URL and account: a retained one would block the retry. Kept on
                # deletion, so switching to githubOidcProvider=<its ARN> later breaks nothing.
                removal_policy=removal.NAMED,
            ).oidc_provider_arn
        else:
            provider_arn = config.github_oidc_provider
        github_repository = config.github_repository

        # Builds push images on every push to the branch; nothing runs them until a deploy.
        self.image_role = self._github_role(
            "GitHubImageRole",
            provider_arn,
            subject=f"repo:{github_repository}:ref:refs/heads/{config.github_branch}",
            description=f"Pushes images from {github_repository}, branch {config.github_branch}",
        )
        self.image_role.add_to_policy(
            iam.PolicyStatement(
                sid="PushImages",
                actions=_ECR_PUSH_ACTIONS,
                resources=[repo.repository_arn for repo in self.repositories.values()],
            )
        )
        self.image_role.add_to_policy(
            iam.PolicyStatement(
                sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]
            )
        )
        suppress(
            self.image_role,
            "AwsSolutions-IAM5",
            "ecr:GetAuthorizationToken has no resource-level permissions (resource must be *); "
            "pushes are limited to this stack's repositories.",
            applies_to=["Resource::*"],
        )

        # Deploys only from jobs in the GitHub environment (required reviewers for production):
        # the token's subject names the environment, not the branch.
        self.deploy_role = self._github_role(
            "GitHubDeployRole",
            provider_arn,
            subject=f"repo:{github_repository}:environment:{config.github_environment}",
            description=(
                f"Deploys from {github_repository}, GitHub environment {config.github_environment}"
            ),
        )
        qualifier = DefaultStackSynthesizer.DEFAULT_QUALIFIER
        self.deploy_role.add_to_policy(
            iam.PolicyStatement(
                sid="AssumeCdkBootstrapRoles",
                actions=["sts:AssumeRole"],
                resources=[
                    self.format_arn(
                        service="iam",
                        region="",
                        resource="role",
                        resource_name=f"cdk-{qualifier}-{role}-role-{self.account}-{self.region}",
                    )
                    for role in _CDK_BOOTSTRAP_ROLES
                ],
            )
        )
        # Then `logger-app verify`, started by the deploy job after the deploy (verify_task.py).
        for statement in deploy_role_statements(self, config):
            self.deploy_role.add_to_policy(statement)
        suppress(
            self.deploy_role,
            "AwsSolutions-IAM5",
            "The verify task by name: its family at any revision (each deploy registers one), "
            "the tasks of its own cluster (ids known only at run time), the roles under its IAM "
            "path, and the streams of its log group; RunTask and DescribeTasks are also "
            "conditioned on that cluster.",
            applies_to=DEPLOY_ROLE_WILDCARDS,  # type: ignore[arg-type]
        )
        CfnOutput(
            self,
            "GitHubImageRoleArn",
            value=self.image_role.role_arn,
            description="AWS_IMAGE_ROLE_ARN: role-to-assume of the deploy workflow's image jobs",
        )
        CfnOutput(
            self,
            "GitHubDeployRoleArn",
            value=self.deploy_role.role_arn,
            description="AWS_DEPLOY_ROLE_ARN: role-to-assume of the deploy workflow's deploy job",
        )

    def _github_role(
        self, construct_id: str, provider_arn: str, *, subject: str, description: str
    ) -> iam.Role:
        return iam.Role(
            self,
            construct_id,
            description=description,
            max_session_duration=Duration.hours(1),
            assumed_by=iam.WebIdentityPrincipal(
                provider_arn,
                conditions={
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com",
                        f"{GITHUB_OIDC_HOST}:sub": subject,
                    }
                },
            ),
        )
