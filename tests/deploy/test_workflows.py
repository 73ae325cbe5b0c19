"""GitHub workflows: actionlint and the github-workflows schema on every file, then the
delivery rules (pinned actions, least permissions, OIDC, scan before push)."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .helpers import REPO, require_tool

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")


def _load(path: Path) -> dict:
    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    workflow = yaml.safe_load(path.read_text())
    workflow["on"] = workflow.pop(True)
    return workflow


def _ci() -> dict:
    return _load(REPO / ".github/workflows/ci.yml")


def _deploy() -> dict:
    return _load(REPO / ".github/workflows/deploy.yml")


def _steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def _uses_lines() -> list[str]:
    lines = []
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            stripped = line.strip().removeprefix("- ")
            if stripped.startswith("uses:"):
                lines.append(stripped.removeprefix("uses:").strip())
    return lines


def test_there_are_ci_and_deploy_workflows():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "deploy.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_passes(path):
    actionlint = require_tool("actionlint", "scripts/install-deploy-tools.sh (make tools)")
    result = subprocess.run(
        [actionlint, "-no-color", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_github_workflows_schema_passes(path):
    check = Path(sys.executable).parent / "check-jsonschema"
    tool = str(check) if check.exists() else require_tool("check-jsonschema", "dev extra")
    result = subprocess.run(
        [tool, "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("uses", _uses_lines())
def test_actions_are_pinned_by_full_commit_sha_with_the_version_noted(uses):
    if uses.startswith("./"):
        return
    assert PINNED.match(uses), uses


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_grants_nothing_by_default(path):
    assert _load(path)["permissions"] == {}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_declares_only_read_access_or_an_oidc_token(path):
    for name, job in _load(path)["jobs"].items():
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{name}: no job-level permissions"
        for scope, level in permissions.items():
            assert level == "read" or (scope, level) == ("id-token", "write"), f"{name}: {scope}"


def test_only_jobs_that_talk_to_aws_get_an_oidc_token():
    for workflow in (_ci(), _deploy()):
        for name, job in workflow["jobs"].items():
            assumes_role = any(
                "configure-aws-credentials" in step.get("uses", "") for step in _steps(job)
            )
            has_token = job.get("permissions", {}).get("id-token") == "write"
            assert assumes_role == has_token, name


def test_no_workflow_uses_stored_secrets_or_access_keys():
    for path in WORKFLOWS:
        text = path.read_text()
        assert "secrets." not in text, path.name
        assert "aws-access-key-id" not in text, path.name


def test_ci_runs_make_test_on_push_and_pull_request():
    ci = _ci()
    assert {"push", "pull_request"} <= set(ci["on"])
    [job] = ci["jobs"].values()
    assert "make test" in [step.get("run") for step in _steps(job)]


def test_deploy_runs_on_main_only():
    triggers = _deploy()["on"]
    assert triggers["push"] == {"branches": ["main"]}
    assert "pull_request" not in triggers


def test_deploy_is_gated_on_the_tests_and_ordered():
    jobs = _deploy()["jobs"]
    assert jobs["test"]["uses"] == "./.github/workflows/ci.yml"
    assert "workflow_call" in _ci()["on"]
    assert jobs["third-party-scan"]["needs"] == "third-party"
    assert set(jobs["image"]["needs"]) == {"test", "third-party", "third-party-scan"}
    assert set(jobs["deploy"]["needs"]) == {"image", "third-party"}


def test_deployments_are_never_cancelled_half_way():
    assert _deploy()["concurrency"]["cancel-in-progress"] is False


def _role(job: dict) -> str:
    [step] = [s for s in _steps(job) if "configure-aws-credentials" in s.get("uses", "")]
    return step["with"]["role-to-assume"]


def test_deploys_run_in_the_github_environment_the_deploy_role_trusts():
    # Production's environment has required reviewers; the deploy role (infra/, DeliveryStack)
    # trusts only the subject repo:<owner>/<repo>:environment:<name> a job in it gets, and the
    # environment is named like the deployment environment.
    deploy = _deploy()["jobs"]["deploy"]
    assert deploy["environment"] == "${{ vars.DEPLOY_ENVIRONMENT }}"
    assert _role(deploy) == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    delivery = (REPO / "infra/logger_app_infra/delivery.py").read_text()
    assert ':environment:{config.github_environment}"' in delivery
    config = (REPO / "infra/logger_app_infra/config.py").read_text()
    assert "def github_environment(self) -> str:" in config
    assert "return self.environment" in config


def test_only_the_deploy_job_runs_in_the_environment_and_image_jobs_only_push():
    # Image jobs use the image role, trusted for the branch and able only to push to ECR, so
    # reviewers approve the deployment once, not each build.
    jobs = _deploy()["jobs"]
    assert [name for name, job in jobs.items() if "environment" in job] == ["deploy"]
    assert _role(jobs["image"]) == "${{ vars.AWS_IMAGE_ROLE_ARN }}"


def _image_steps() -> list[dict]:
    return _steps(_deploy()["jobs"]["image"])


def _index(predicate) -> int:
    return next(n for n, step in enumerate(_image_steps()) if predicate(step))


def test_images_are_scanned_after_the_build_and_before_the_push():
    build = _index(lambda s: "docker build" in s.get("run", ""))
    scan = _index(lambda s: "trivy-action" in s.get("uses", ""))
    push = _index(lambda s: "docker push" in s.get("run", ""))
    assert build < scan < push


def test_scan_fails_the_job_on_high_or_critical():
    scan = _image_steps()[_index(lambda s: "trivy-action" in s.get("uses", ""))]["with"]
    assert set(scan["severity"].split(",")) == {"HIGH", "CRITICAL"}
    assert str(scan["exit-code"]) == "1"
    assert scan["image-ref"] == "${{ steps.ecr.outputs.image }}"


def _infra_image_names() -> set[str]:
    tree = ast.parse((REPO / "infra/logger_app_infra/delivery.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "IMAGES":
            return set(ast.literal_eval(node.value))
    raise AssertionError("infra/logger_app_infra/delivery.py defines no IMAGES")


def test_deploy_builds_every_image_the_infrastructure_runs():
    matrix = _deploy()["jobs"]["image"]["strategy"]["matrix"]["include"]
    assert {entry["name"] for entry in matrix} == _infra_image_names()
    for entry in matrix:
        assert (REPO / entry["dockerfile"]).is_file(), entry["dockerfile"]


def test_deploy_runs_the_cdk_app_with_the_pushed_tag():
    deploy = _deploy()
    [cdk] = [s for s in _steps(deploy["jobs"]["deploy"]) if "cdk" in s.get("name", "")]
    assert '--app "python3 infra/app.py"' in cdk["run"]
    assert (REPO / "infra/app.py").is_file()
    assert deploy["env"]["IMAGE_TAG"] == "${{ github.sha }}"


def test_python_packages_come_from_the_lock():
    # make installs from uv.lock with hashes; a pip install in a workflow would resolve ranges.
    for path in WORKFLOWS:
        for name, job in _load(path)["jobs"].items():
            for step in _steps(job):
                assert "pip install" not in step.get("run", ""), f"{path.name}: {name}"


def test_deploy_runs_the_cdk_app_with_the_locked_dependencies():
    deploy = _deploy()["jobs"]["deploy"]
    runs = [step.get("run", "") for step in _steps(deploy)]
    install = next(n for n, run in enumerate(runs) if "make install-infra" in run)
    assert '.venv/bin" >> "$GITHUB_PATH"' in runs[install]
    cdk = next(n for n, run in enumerate(runs) if "infra/app.py" in run)
    assert install < cdk


def _third_party() -> list:
    sys.path.insert(0, str(REPO / "infra"))
    from logger_app_infra.third_party import THIRD_PARTY_IMAGES

    return list(THIRD_PARTY_IMAGES)


def test_third_party_tags_are_resolved_once_by_the_repositorys_script():
    job = _deploy()["jobs"]["third-party"]
    assert "id-token" not in job["permissions"]
    [resolve] = [s for s in _steps(job) if s.get("id") == "resolve"]
    assert "python3 infra/third_party_images.py resolve" in resolve["run"]
    assert '"$GITHUB_OUTPUT"' in resolve["run"]
    outputs = job["outputs"]
    for image in _third_party():
        assert outputs[image.name] == f"${{{{ steps.resolve.outputs.{image.name} }}}}"
        assert outputs[image.env] == f"${{{{ steps.resolve.outputs.{image.env} }}}}"


def test_each_third_party_image_is_scanned_by_its_digest():
    job = _deploy()["jobs"]["third-party-scan"]
    assert job["strategy"]["matrix"] == "${{ fromJSON(needs.third-party.outputs.matrix) }}"
    [scan] = [s for s in _steps(job) if "trivy-action" in s.get("uses", "")]
    assert scan["with"]["image-ref"] == "${{ matrix.image }}"
    assert set(scan["with"]["severity"].split(",")) == {"HIGH", "CRITICAL"}
    assert str(scan["with"]["exit-code"]) == "1"


def test_images_with_a_third_party_base_are_built_from_the_scanned_digest():
    job = _deploy()["jobs"]["image"]
    bases = {entry["name"]: entry["base"] for entry in job["strategy"]["matrix"]["include"]}
    expected = {image.built_image: image.name for image in _third_party() if image.built_image}
    assert {name: base for name, base in bases.items() if base} == expected
    assert bases["app"] == ""
    assert "needs.third-party.outputs[matrix.base]" in job["env"]["BASE_PINNED"]
    [build] = [s for s in _steps(job) if "docker build" in s.get("run", "")]
    assert 'docker pull "$BASE_PINNED"' in build["run"]
    assert 'docker tag "$BASE_PINNED" "$base"' in build["run"]


def test_the_deploy_passes_every_resolved_digest_to_the_cdk_app():
    env = _deploy()["jobs"]["deploy"]["env"]
    for image in _third_party():
        assert env[image.env] == f"${{{{ needs.third-party.outputs.{image.env} }}}}"


# The stack outputs the verify step reads (infra/logger_app_infra: service.py, network.py,
# access.py).
VERIFY_OUTPUTS = {
    "VerifyCluster": "logger-app-prod-verify",
    "VerifyTaskDefinition": "logger-app-prod-verify",
    "VerifySubnets": "subnet-1,subnet-2",
    "VerifySecurityGroup": "sg-9",
    "VerifyLogGroup": "/logger-app/prod/verify",
}
TASK_ARN = "arn:aws:ecs:eu-west-1:111111111111:task/logger-app-prod-verify/0123abcd"

# Stands in for the AWS CLI: records each call, answers as ECS and CloudWatch Logs would for a
# task whose verify container exits $VERIFY_EXIT ("None": it never ran).
FAKE_AWS = """#!/bin/bash
echo "$*" >> "$CALLS"
case "$1 $2" in
  "ecs run-task") echo "${RUN_TASK_ARN}" ;;
  "ecs wait") exit "${WAIT_EXIT:-0}" ;;
  "logs get-log-events") printf 'sink\\tarrived\\namp\\tmissing\\n' ;;
  "ecs describe-tasks") printf '%s\\tEssential container in task exited\\n' "$VERIFY_EXIT" ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"""


def _deploy_steps() -> list[dict]:
    return _steps(_deploy()["jobs"]["deploy"])


def _verify_step() -> dict:
    [step] = [s for s in _deploy_steps() if "logger-app verify" in s.get("name", "")]
    return step


def test_the_deploy_writes_the_outputs_the_verify_step_reads():
    [cdk] = [s for s in _deploy_steps() if "infra/app.py" in s.get("run", "")]
    assert "--outputs-file cdk-outputs.json" in cdk["run"]
    infra = "".join(p.read_text() for p in (REPO / "infra/logger_app_infra").glob("*.py"))
    run = _verify_step()["run"]
    for name in VERIFY_OUTPUTS:
        # CfnOutput(self, "<name>", ...) or a ("<name>", value, description) row.
        assert re.search(rf'(CfnOutput\(\s*self,\s*|\(\s*)"{name}",', infra), name
        assert f"output {name})" in run, name
    assert "cdk-outputs.json" in run


def test_verify_runs_after_the_deploy_with_the_deploy_role():
    steps = _deploy_steps()
    cdk = next(n for n, s in enumerate(steps) if "infra/app.py" in s.get("run", ""))
    verify = steps.index(_verify_step())
    assert verify == cdk + 1
    credentials = next(
        n for n, s in enumerate(steps) if "configure-aws-credentials" in s.get("uses", "")
    )
    assert credentials < cdk
    run = _verify_step()["run"]
    assert "--launch-type FARGATE" in run
    assert "assignPublicIp=DISABLED" in run


def _run_verify_step(tmp_path: Path, exit_code: str, **env: str) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "aws"
    fake.write_text(FAKE_AWS)
    fake.chmod(0o755)
    network = {"VerifySubnets", "AppUrl"}
    outputs = {
        "LoggerApp-Prod-Network": {k: v for k, v in VERIFY_OUTPUTS.items() if k in network},
        "LoggerApp-Prod-Access": {"VerifySecurityGroup": VERIFY_OUTPUTS["VerifySecurityGroup"]},
        "LoggerApp-Prod-Service": {
            k: v for k, v in VERIFY_OUTPUTS.items() if k not in network | {"VerifySecurityGroup"}
        },
    }
    (tmp_path / "cdk-outputs.json").write_text(json.dumps(outputs))
    jq = require_tool("jq", "apt-get install jq (GitHub's ubuntu runners have it)")
    # GitHub runs a `run` script with `bash -e` when the step names no shell.
    return subprocess.run(
        ["bash", "-e", "-c", _verify_step()["run"]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={
            "PATH": f"{bin_dir}:{Path(jq).parent}:/usr/bin:/bin",
            "CALLS": str(tmp_path / "calls"),
            "GITHUB_RUN_ID": "42",
            "RUN_TASK_ARN": TASK_ARN,
            "VERIFY_EXIT": exit_code,
            **env,
        },
    )


def test_the_verify_step_passes_when_the_task_exits_0(tmp_path):
    result = _run_verify_step(tmp_path, "0")
    assert result.returncode == 0, result.stdout + result.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0].startswith(
        "ecs run-task --cluster logger-app-prod-verify --task-definition logger-app-prod-verify"
    )
    assert "subnets=[subnet-1,subnet-2],securityGroups=[sg-9]" in calls[0]
    assert calls[1] == f"ecs wait tasks-stopped --cluster logger-app-prod-verify --tasks {TASK_ARN}"
    # The report is printed, and where it is kept.
    assert "amp\tmissing" in result.stdout
    assert "log group /logger-app/prod/verify, stream verify/verify/0123abcd" in result.stdout


@pytest.mark.parametrize("exit_code", ["1", "None"])
def test_the_verify_step_fails_the_job_when_the_task_does_not_exit_0(tmp_path, exit_code):
    result = _run_verify_step(tmp_path, exit_code)
    assert result.returncode != 0
    assert f"::error::logger-app verify exited {exit_code}" in result.stdout
    assert "stream verify/verify/0123abcd" in result.stdout


def test_the_verify_step_fails_when_no_task_starts(tmp_path):
    result = _run_verify_step(tmp_path, "0", RUN_TASK_ARN="None")
    assert result.returncode != 0
    assert "::error::the verify task did not start" in result.stdout


def test_the_verify_step_fails_when_the_task_does_not_stop_in_time(tmp_path):
    # The waiter gives up; the task is still running, so its container has no exit code yet.
    result = _run_verify_step(tmp_path, "None", WAIT_EXIT="255")
    assert result.returncode != 0
    assert "::error::the verify task has not stopped after 10 minutes" in result.stdout
