"""Container images: the four the deploy workflow builds into ECR, tagged with one tag, and the
third-party ADOT collector, pulled through the ECR cache by the digest the workflow resolved."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct

from .third_party import ADOT_IMAGE, THIRD_PARTY_IMAGES, ecr_public_path

# OCI's annotation keys for the image an image was built FROM, as Docker labels.
BASE_NAME_LABEL = "org.opencontainers.image.base.name"
BASE_DIGEST_LABEL = "org.opencontainers.image.base.digest"
# What ECR needs from the puller to fill the cache on a first pull.
CACHE_FILL_ACTIONS = ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]


class ImageCatalog:
    """Resolves an image name (see delivery.IMAGES) to its ECR image at the deployed tag."""

    def __init__(
        self,
        repositories: Mapping[str, ecr.IRepository],
        tag: str,
        *,
        digests: Mapping[str, str],
        ecr_public_prefix: str,
    ) -> None:
        self._repositories = dict(repositories)
        self.tag = tag
        self._digests = dict(digests)
        self.ecr_public_prefix = ecr_public_prefix

    def image(self, name: str) -> ecs.ContainerImage:
        return ecs.ContainerImage.from_ecr_repository(self._repositories[name], self.tag)

    def base_labels(self, name: str) -> dict[str, str]:
        """Docker labels naming the scanned base digest a built image was built FROM."""
        for image in THIRD_PARTY_IMAGES:
            if image.built_image == name:
                repository = image.reference().rpartition(":")[0]
                return {
                    BASE_NAME_LABEL: image.reference(),
                    BASE_DIGEST_LABEL: f"{repository}@{self._digests[image.context_key]}",
                }
        return {}

    @property
    def adot_digest(self) -> str:
        return self._digests["adotImageDigest"]

    def adot(
        self, scope: Construct, task_definition: ecs.TaskDefinition
    ) -> tuple[ecs.ContainerImage, dict[str, str]]:
        """The collector from this account's ECR pull-through cache of ECR Public, by digest;
        the execution role may fill the cache on the first pull."""
        repository = ecr.Repository.from_repository_name(
            scope,
            "AdotImageCache",
            f"{self.ecr_public_prefix}/{ecr_public_path(ADOT_IMAGE)}",
        )
        task_definition.obtain_execution_role().add_to_principal_policy(
            iam.PolicyStatement(
                sid="FillAdotImageCache",
                actions=CACHE_FILL_ACTIONS,
                resources=[repository.repository_arn],
            )
        )
        labels = {
            "org.opencontainers.image.ref.name": ADOT_IMAGE,
        }
        return ecs.ContainerImage.from_ecr_repository(repository, self.adot_digest), labels
