"""Container images: the four the deploy workflow builds into ECR, tagged with one tag."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs


class ImageCatalog:
    """Resolves an image name (see delivery.IMAGES) to its ECR image at the deployed tag."""

    def __init__(self, repositories: Mapping[str, ecr.IRepository], tag: str) -> None:
        self._repositories = dict(repositories)
        self.tag = tag

    def image(self, name: str) -> ecs.ContainerImage:
        return ecs.ContainerImage.from_ecr_repository(self._repositories[name], self.tag)
