"""Third-party images: pinned by tag in the repository, deployed by the digest the deploy
workflow resolves for that tag and scans.

- The ADOT collector runs as published; its tag is pinned here (and in docker-compose.yml,
  which a test keeps equal). ECS pulls it through the Delivery stack's ECR pull-through cache
  rule, by digest.
- Fluent Bit, Loki and Grafana are the bases of three of the images the workflow builds; their
  tags are the FROM lines of those Dockerfiles (kept literal for Dependabot). The workflow
  builds FROM the scanned digest, and the task definitions record it (OCI base-image labels).

No digest is written in the repository: `python3 infra/third_party_images.py resolve` (the
deploy workflow, or a person before a first deploy) asks the registries for them.
This module needs only the standard library: the workflow runs it before installing anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

ADOT_IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector:v0.50.0"
ECR_PUBLIC = "public.ecr.aws"
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class ThirdPartyImage:
    name: str
    context_key: str  # CDK input carrying the digest
    env: str  # its environment variable (what the deploy workflow sets)
    dockerfile: str | None = None  # the Dockerfile whose FROM pins it; None: ADOT_IMAGE
    built_image: str | None = None  # the image built FROM it (delivery.IMAGES)

    def reference(self, repo_root: Path = REPO_ROOT) -> str:
        """The pinned `name:tag`."""
        if self.dockerfile is None:
            return ADOT_IMAGE
        return base_image(repo_root / self.dockerfile)


THIRD_PARTY_IMAGES: tuple[ThirdPartyImage, ...] = (
    ThirdPartyImage("adot", "adotImageDigest", "ADOT_IMAGE_DIGEST"),
    ThirdPartyImage(
        "fluent-bit",
        "logRouterBaseDigest",
        "LOG_ROUTER_BASE_DIGEST",
        dockerfile="infra/images/log-router/Dockerfile",
        built_image="log-router",
    ),
    ThirdPartyImage(
        "loki",
        "lokiBaseDigest",
        "LOKI_BASE_DIGEST",
        dockerfile="infra/images/loki/Dockerfile",
        built_image="loki",
    ),
    ThirdPartyImage(
        "grafana",
        "grafanaBaseDigest",
        "GRAFANA_BASE_DIGEST",
        dockerfile="infra/images/grafana/Dockerfile",
        built_image="grafana",
    ),
)


def base_image(dockerfile: Path) -> str:
    """The image of the Dockerfile's only FROM line."""
    images = [
        line.split()[1]
        for line in dockerfile.read_text(encoding="utf-8").splitlines()
        if line.upper().startswith("FROM ")
    ]
    if len(images) != 1:
        raise ValueError(f"{dockerfile}: expected one FROM line, found {len(images)}")
    return images[0]


def repository_and_tag(reference: str) -> tuple[str, str]:
    repository, _, tag = reference.rpartition(":")
    if not repository or "/" in tag:
        raise ValueError(f"{reference}: not pinned to a tag")
    return repository, tag


def ecr_public_path(reference: str) -> str:
    """The repository path of an ECR Public image, as the pull-through cache names it."""
    repository, _ = repository_and_tag(reference)
    if not repository.startswith(f"{ECR_PUBLIC}/"):
        raise ValueError(f"{reference}: not an {ECR_PUBLIC} image")
    return repository.removeprefix(f"{ECR_PUBLIC}/")
