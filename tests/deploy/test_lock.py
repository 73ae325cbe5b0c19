"""uv.lock, the one lock for make, CI and the image: it agrees with pyproject.toml, every target
installs from it, `make run` gets the runtime and the emulator only, and the image's export of it
pins every package with its hashes. Runs the uv that make installs in the venv."""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from .helpers import REPO

MAKEFILE = REPO / "Makefile"
# What `make run` must not install: test, type-checking, CDK, dashboard and benchmark tools.
NOT_FOR_RUNNING = {
    "pytest",
    "mypy",
    "ruff",
    "schemathesis",
    "check-jsonschema",
    "aws-cdk-lib",
    "cdk-nag",
    "grafana-foundation-sdk",
    "matplotlib",
    "py-spy",
}
REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)(?: ;.*)?$")


def _uv_path() -> Path:
    uv = Path(sys.executable).parent / "uv"
    if not uv.is_file():
        pytest.fail("uv is not in the venv: any make target installs it", pytrace=False)
    return uv


def _uv(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1"}
    return subprocess.run(
        [str(_uv_path()), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def _make_variable(name: str) -> str:
    match = re.search(rf"^{name} := (.*)$", MAKEFILE.read_text(), re.MULTILINE)
    assert match, f"the Makefile sets no {name}"
    return match.group(1).strip()


def _recipe_lines() -> list[str]:
    return [line.strip() for line in MAKEFILE.read_text().splitlines() if line.startswith("\t")]


def _requirements(text: str) -> dict[str, list[str]]:
    """A hashed requirements file: each package's `name==version` line and its hashes."""
    entries: dict[str, list[str]] = {}
    for logical in text.replace("\\\n", " ").splitlines():
        words = logical.split("#", 1)[0].split()
        if not words:
            continue
        match = REQUIREMENT.match(" ".join(w for w in words if not w.startswith("--hash=")))
        assert match, f"not pinned to one version: {logical.strip()}"
        entries[match.group(1).lower()] = [w for w in words if w.startswith("--hash=sha256:")]
    return entries


def _exported(*extras: str) -> set[str]:
    args = ["export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes"]
    for extra in extras:
        args += ["--extra", extra]
    result = _uv(*args, "--format", "requirements-txt")
    assert result.returncode == 0, result.stderr
    return set(_requirements(result.stdout))


def test_the_venv_has_the_uv_that_make_pins():
    assert _uv("--version").stdout.split()[:2] == ["uv", _make_variable("UV_VERSION")]


def test_the_image_exports_the_lock_with_the_same_uv():
    parser = DockerfileParser(path=str(REPO / "Dockerfile"))
    [arg] = [
        i["value"]
        for i in parser.structure
        if i["instruction"] == "ARG" and i["value"].startswith("UV_VERSION=")
    ]
    assert arg == f"UV_VERSION={_make_variable('UV_VERSION')}"


def test_lock_agrees_with_pyproject():
    result = _uv("lock", "--check")
    assert result.returncode == 0, result.stderr


def test_lock_check_fails_when_pyproject_changes(tmp_path):
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(REPO / name, tmp_path / name)
    pyproject = tmp_path / "pyproject.toml"
    text = pyproject.read_text()
    assert '"pyyaml~=6.0"' in text
    pyproject.write_text(text.replace('"pyyaml~=6.0"', '"pyyaml>=6.0.1"'))

    result = _uv("lock", "--check", cwd=tmp_path)

    assert result.returncode != 0
    assert "needs to be updated" in result.stderr, result.stderr


def test_make_test_checks_the_lock_first():
    test_prerequisites = re.search(r"^test: (.*)$", MAKEFILE.read_text(), re.MULTILINE)
    assert test_prerequisites
    assert test_prerequisites.group(1).split()[0] == "lock-check"
    lock_check = re.search(r"^lock-check:.*\n\t(.*)$", MAKEFILE.read_text(), re.MULTILINE)
    assert lock_check
    assert shlex.split(lock_check.group(1))[1:] == ["lock", "--check"]


def test_make_installs_only_from_the_lock():
    syncs = [line for line in _recipe_lines() if " sync " in f"{line} "]
    assert syncs
    for line in syncs:
        # --locked: a lock that disagrees with pyproject.toml stops the install.
        assert "--locked" in line.split(), line
    # The one pip install is uv itself, at the pinned version.
    joined = "\n".join(_recipe_lines()).replace("\\\n", " ")
    pip_installs = [line for line in joined.splitlines() if "pip" in line and "install" in line]
    assert len(pip_installs) == 1, pip_installs
    assert shlex.split(pip_installs[0])[-1] == "uv==$(UV_VERSION)", pip_installs


def test_make_run_installs_the_runtime_and_the_emulator_only():
    assert _make_variable("EXTRAS_run").split() == ["emulator"]
    runtime = _exported()
    running = _exported("emulator")
    assert {"fastapi", "uvicorn", "boto3", "opentelemetry-distro"} <= runtime
    assert {"moto", "flask"} <= running - runtime
    assert not NOT_FOR_RUNNING & running, NOT_FOR_RUNNING & running


def test_make_test_installs_what_the_tests_import():
    # bench: the harness's own unit tests (tests/unit/test_bench_*.py) import it.
    assert set(_make_variable("EXTRAS_test").split()) == {"dev", "infra", "dashboards", "bench"}
    assert {"waitress", "py-spy"} <= _exported("bench")
    # The emulator comes with dev: the integration tests run moto's server.
    assert "moto" in _exported("dev")


def test_image_export_pins_every_package_with_its_hashes(tmp_path):
    # The export the Dockerfile runs, as it runs it, into a scratch file.
    parser = DockerfileParser(path=str(REPO / "Dockerfile"))
    [run] = [
        i["value"]
        for i in parser.structure
        if i["instruction"] == "RUN" and "uv export" in i["value"]
    ]
    [export] = [shlex.split(c) for c in run.split("&&") if c.strip().startswith("uv export")]
    output = export.index("--output-file") + 1
    export[output] = str(tmp_path / "requirements.txt")

    result = _uv(*export[1:])

    assert result.returncode == 0, result.stderr
    entries = _requirements((tmp_path / "requirements.txt").read_text())
    assert {"fastapi", "uvicorn", "boto3", "opentelemetry-distro"} <= set(entries)
    assert not NOT_FOR_RUNNING & set(entries)
    assert "moto" not in entries
    for name, hashes in entries.items():
        assert hashes, f"{name} has no hash"
