"""The update bot (.github/dependabot.yml): valid for Dependabot's schema, and covering the lock,
the pinned actions and every Dockerfile's base image, grouped into one weekly pull request."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from .helpers import REPO, require_tool

CONFIG = REPO / ".github" / "dependabot.yml"
DOCKERFILES = [REPO / "Dockerfile", *sorted((REPO / "infra" / "images").glob("*/Dockerfile"))]


def _config() -> dict:
    return yaml.safe_load(CONFIG.read_text())


def _updates(ecosystem: str) -> dict:
    [update] = [u for u in _config()["updates"] if u["package-ecosystem"] == ecosystem]
    return update


def _directories(update: dict) -> set[str]:
    return set(update.get("directories", [update.get("directory")]))


def test_dependabot_schema_passes():
    check = Path(sys.executable).parent / "check-jsonschema"
    tool = str(check) if check.exists() else require_tool("check-jsonschema", "dev extra")
    result = subprocess.run(
        [tool, "--builtin-schema", "vendor.dependabot", str(CONFIG)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_lock_the_actions_and_the_images_are_updated():
    assert {u["package-ecosystem"] for u in _config()["updates"]} == {
        "uv",
        "github-actions",
        "docker",
    }
    assert _directories(_updates("uv")) == {"/"}
    assert (REPO / "uv.lock").is_file()
    assert _directories(_updates("github-actions")) == {"/"}


def test_every_dockerfile_is_watched():
    expected = {
        "/" if path.parent == REPO else "/" + path.parent.relative_to(REPO).as_posix()
        for path in DOCKERFILES
    }
    assert _directories(_updates("docker")) == expected


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO)))
def test_base_images_are_named_literally(path):
    # Dependabot reads FROM lines as written: an image named through an ARG is never updated.
    parser = DockerfileParser(path=str(path))
    for item in parser.structure:
        if item["instruction"] == "FROM":
            image = item["value"].split()[0]
            assert "$" not in image, f"{path.name}: FROM {image}"
            assert ":" in image, f"{path.name}: {image} has no version tag"


def test_all_updates_arrive_as_one_weekly_pull_request():
    groups = _config()["multi-ecosystem-groups"]
    [(name, group)] = groups.items()
    assert group["schedule"]["interval"] == "weekly"
    for update in _config()["updates"]:
        assert update["multi-ecosystem-group"] == name, update["package-ecosystem"]
        assert update["patterns"] == ["*"], update["package-ecosystem"]


def test_cdk_nag_stays_below_3():
    # 3.0.x fails under Python (see pyproject.toml's infra extra).
    ignored = {i["dependency-name"]: i for i in _updates("uv").get("ignore", [])}
    assert ignored["cdk-nag"]["versions"] == [">=3"]
