"""`python infra/app.py` (what `make synth` runs) synthesizes every stack with no inputs at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from infra_settings import REPO

APP = Path(__file__).resolve().parents[1] / "app.py"
STACKS = ("Network", "Data", "Delivery", "Access", "Observability", "Service")


def _fresh_environment(outdir: Path) -> dict[str, str]:
    """A fresh clone: no context, no deployment variables, only the repository's files."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CDK_", "DEPLOY_", "IMAGE_TAG", "VPN_", "ALB_", "GITHUB_"))
    }
    environ["CDK_OUTDIR"] = str(outdir)
    return environ


def test_app_synthesizes_all_stacks_from_a_fresh_clone(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(APP)],
        cwd=REPO,
        env=_fresh_environment(tmp_path),
        check=True,
        capture_output=True,
        text=True,
    )
    # The inputs it lacks are placeholders, and it says so.
    assert "Offline synth: placeholder imageTag" in result.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    templates = {
        name
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    assert templates == {f"LoggerApp-Dev-{stack}" for stack in STACKS}
    for stack in STACKS:
        template = json.loads((tmp_path / f"LoggerApp-Dev-{stack}.template.json").read_text())
        assert template["Resources"]


def test_under_the_cdk_cli_a_missing_image_tag_stops_the_synth(tmp_path: Path) -> None:
    """The CLI (synth, deploy) sets CDK_CLI_ASM_VERSION: no placeholder is ever used there."""
    environ = _fresh_environment(tmp_path)
    environ["CDK_CLI_ASM_VERSION"] = "55.0.0"
    result = subprocess.run(
        [sys.executable, str(APP)], cwd=REPO, env=environ, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "imageTag is not set" in result.stderr
    assert not list(tmp_path.glob("*.template.json"))
