"""Third-party images: ADOT through the ECR pull-through cache by digest, built images labelled
with the scanned base digest, and no digest written into the repository."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
import yaml
from infra_helpers import container, only, resources, statements
from infra_settings import DEV_CONTEXT, DIGESTS, REPO
from logger_app_infra.app_builder import LoggerAppStacks, build_stacks
from logger_app_infra.config import ConfigError
from logger_app_infra.images import BASE_DIGEST_LABEL, BASE_NAME_LABEL
from logger_app_infra.third_party import ADOT_IMAGE, THIRD_PARTY_IMAGES

INFRA = Path(__file__).resolve().parents[1]


def _task_definitions(stacks: LoggerAppStacks) -> list[dict]:  # type: ignore[type-arg]
    return [
        task
        for stack in stacks.all()
        for task in resources(stack, "AWS::ECS::TaskDefinition").values()
    ]


def test_adot_comes_from_the_pull_through_cache_by_digest(prod: LoggerAppStacks) -> None:
    for task in (prod.service.task, prod.service.worker_task):
        definition = resources(prod.service, "AWS::ECS::TaskDefinition")[
            prod.service.get_logical_id(task.task_definition.node.default_child)
        ]
        image = json.dumps(container(definition, "aws-otel-collector")["Image"])
        assert "111111111111.dkr.ecr.eu-west-1." in image
        assert (
            "/ecr-public-prod/aws-observability/aws-otel-collector@" + DIGESTS["adotImageDigest"]
        ) in image
        assert "public.ecr.aws" not in image


def test_every_container_is_pulled_from_this_accounts_ecr(prod: LoggerAppStacks) -> None:
    for task in _task_definitions(prod):
        for definition in task["Properties"]["ContainerDefinitions"]:
            image = json.dumps(definition["Image"])
            assert ".dkr.ecr." in image, definition["Name"]
            assert "public.ecr.aws" not in image
            assert "docker.io" not in image


def test_the_pull_through_cache_rule_serves_ecr_public(prod: LoggerAppStacks) -> None:
    rule = only(prod.delivery, "AWS::ECR::PullThroughCacheRule")
    assert rule == {
        "EcrRepositoryPrefix": "ecr-public-prod",
        "UpstreamRegistry": "ecr-public",
        "UpstreamRegistryUrl": "public.ecr.aws",
    }
    template = only(prod.delivery, "AWS::ECR::RepositoryCreationTemplate")
    assert template["Prefix"] == "ecr-public-prod"
    assert template["AppliedFor"] == ["PULL_THROUGH_CACHE"]
    assert template["EncryptionConfiguration"] == {"EncryptionType": "KMS"}
    assert "LifecyclePolicy" in template


def test_the_execution_role_may_fill_the_cache_for_the_collector_only(
    prod: LoggerAppStacks,
) -> None:
    for task in (prod.service.task, prod.service.worker_task):
        role = prod.service.get_logical_id(
            task.task_definition.execution_role.node.default_child  # type: ignore[union-attr]
        )
        (fill,) = [
            s for s in statements(prod.service, role) if s.get("Sid") == "FillAdotImageCache"
        ]
        assert set(fill["Action"]) == {"ecr:BatchImportUpstreamImage", "ecr:CreateRepository"}
        assert json.dumps(fill["Resource"]).endswith(
            'repository/ecr-public-prod/aws-observability/aws-otel-collector"'
        )


@pytest.mark.parametrize(
    ("stack_name", "container_name", "context_key"),
    [
        ("service", "log-router", "logRouterBaseDigest"),
        ("observability", "loki", "lokiBaseDigest"),
        ("observability", "grafana", "grafanaBaseDigest"),
    ],
)
def test_built_images_record_the_scanned_base_digest(
    prod: LoggerAppStacks, stack_name: str, container_name: str, context_key: str
) -> None:
    (image,) = [i for i in THIRD_PARTY_IMAGES if i.context_key == context_key]
    found = [
        container(task, container_name)
        for task in resources(getattr(prod, stack_name), "AWS::ECS::TaskDefinition").values()
        if container_name in [c["Name"] for c in task["Properties"]["ContainerDefinitions"]]
    ]
    assert found
    repository = image.reference().rpartition(":")[0]
    for definition in found:
        assert definition["DockerLabels"] == {
            BASE_NAME_LABEL: image.reference(),
            BASE_DIGEST_LABEL: f"{repository}@{DIGESTS[context_key]}",
        }


@pytest.mark.parametrize("image", THIRD_PARTY_IMAGES, ids=lambda i: i.context_key)
def test_a_synth_without_a_digest_fails_naming_the_input(
    image: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = image.context_key  # type: ignore[attr-defined]
    monkeypatch.delenv(image.env, raising=False)  # type: ignore[attr-defined]
    context = {k: v for k, v in DEV_CONTEXT.items() if k != key}
    with pytest.raises(ConfigError, match=f"{key} is not set"):
        build_stacks(cdk.App(context=context), REPO)


def test_a_malformed_digest_is_rejected() -> None:
    context = {**DEV_CONTEXT, "adotImageDigest": "v0.50.0"}
    with pytest.raises(ConfigError, match="adotImageDigest"):
        build_stacks(cdk.App(context=context), REPO)


def test_the_adot_pin_is_the_one_the_local_stack_runs() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    images = {service.get("image") for service in compose["services"].values()}
    assert ADOT_IMAGE in images


def test_the_list_the_workflow_resolves_names_every_pinned_image() -> None:
    result = subprocess.run(
        [sys.executable, str(INFRA / "third_party_images.py"), "list"],
        capture_output=True,
        text=True,
        check=True,
    )
    listed = [line.split() for line in result.stdout.splitlines()]
    assert [(name, key) for name, key, _ in listed] == [
        (i.name, i.context_key) for i in THIRD_PARTY_IMAGES
    ]
    for _, _, reference in listed:
        assert re.match(r"^[\w./-]+:[\w.-]+$", reference), reference


IMAGE_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}")


def test_no_image_digest_is_written_into_the_repository() -> None:
    """Digests come from the registries at deploy time; one written here was resolved by
    nobody and would silently pin an image no one scanned."""
    tracked = subprocess.run(
        ["git", "ls-files", "infra", ".github", "docs", "scripts", "README.md", "Dockerfile"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    offenders = [
        path
        for path in tracked
        if (REPO / path).is_file()
        and not path.startswith("infra/tests/")
        and IMAGE_DIGEST.search((REPO / path).read_text(encoding="utf-8", errors="replace"))
    ]
    assert offenders == []
