"""Properties of the service image, read from the parsed Dockerfile (tests/containers builds
and runs it)."""

import json
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath

import pytest
from dockerfile_parse import DockerfileParser

from logger_app import cli

from .helpers import REPO

PINNED_SLIM_PYTHON = re.compile(r"^python:\d+\.\d+\.\d+-slim(-[a-z]+)?$")


@dataclass(frozen=True)
class Instruction:
    name: str
    value: str


def _stages() -> list[list[Instruction]]:
    parser = DockerfileParser(path=str(REPO / "Dockerfile"))
    stages: list[list[Instruction]] = []
    for item in parser.structure:
        instruction = Instruction(item["instruction"], item["value"])
        if instruction.name == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _final_stage() -> list[Instruction]:
    return _stages()[-1]


def _stage_names() -> set[str]:
    names = set()
    for stage in _stages():
        parts = stage[0].value.split()
        if len(parts) == 3 and parts[1].upper() == "AS":
            names.add(parts[2])
    return names


def _only(stage: list[Instruction], name: str) -> Instruction:
    found = [i for i in stage if i.name == name]
    assert len(found) == 1, f"expected one {name} in the final stage, found {found}"
    return found[0]


def _exec_form(value: str) -> list[str]:
    parsed = json.loads(value)
    assert isinstance(parsed, list), f"not exec form: {value}"
    return parsed


def test_build_is_multi_stage():
    assert len(_stages()) >= 2


@pytest.mark.parametrize("stage_index", [0, -1])
def test_base_images_are_slim_python_pinned_by_version(stage_index):
    image = _stages()[stage_index][0].value.split()[0]
    assert PINNED_SLIM_PYTHON.match(image), image


def _commands(run: str) -> list[list[str]]:
    """A RUN's shell commands (joined with &&), each split into words."""
    return [shlex.split(command) for command in run.split("&&")]


def _pip_installs() -> list[list[str]]:
    return [
        command
        for stage in _stages()
        for instruction in stage
        if instruction.name == "RUN"
        for command in _commands(instruction.value)
        if command[:1] == ["pip"] and "install" in command
    ]


def _option(command: list[str], *names: str) -> str:
    found = [command[n + 1] for n, word in enumerate(command) if word in names]
    assert len(found) == 1, f"expected one of {names} in {command}"
    return found[0]


def _dependencies_run() -> tuple[int, Instruction]:
    """The build stage's RUN that installs the dependencies: the one checking hashes."""
    [found] = [
        (n, i)
        for n, i in enumerate(_stages()[0])
        if i.name == "RUN" and "--require-hashes" in i.value
    ]
    return found


def test_dependencies_are_installed_in_a_layer_before_the_code():
    build = _stages()[0]
    copies = [i.value for i in build if i.name == "COPY"]
    position = {i.value: n for n, i in enumerate(build)}
    # The dependency layer is keyed on the manifest and the lock only: code changes reuse it.
    manifest_copy = next(c for c in copies if "uv.lock" in c)
    assert shlex.split(manifest_copy)[:-1] == ["pyproject.toml", "uv.lock"]
    code_copy = next(c for c in copies if c.split()[0].rstrip("/") == "src")
    deps_install, _ = _dependencies_run()
    assert position[manifest_copy] < deps_install < position[code_copy]


def test_runtime_dependencies_are_installed_from_the_lock_with_hashes():
    _, run = _dependencies_run()
    commands = _commands(run.value)
    [export] = [c for c in commands if c[:2] == ["uv", "export"]]
    # The lock as committed (never re-resolved), its runtime part only: no extra, no
    # dependency group, not the app itself (installed from the sources after).
    assert "--frozen" in export
    assert {"--no-dev", "--no-emit-project"} <= set(export)
    assert not {"--extra", "--all-extras", "--group", "--all-groups"} & set(export), export
    assert _option(export, "--format") == "requirements-txt"
    exported = _option(export, "--output-file", "-o")
    [install] = [c for c in commands if c[:1] == ["pip"] and "--require-hashes" in c]
    assert _option(install, "--requirement", "-r") == exported
    assert _option(install, "--python") == "/opt/venv/bin/python"
    # Exactly what the lock lists (its markers pick the platform's packages), wheels only.
    assert "--no-deps" in install
    assert _option(install, "--only-binary") == ":all:"


def _arg_default(name: str) -> str:
    [value] = [
        i.value.partition("=")[2]
        for i in _stages()[0]
        if i.name == "ARG" and i.value.partition("=")[0] == name
    ]
    return value


# pip options of the Dockerfile's installs that take the next word as their value.
_PIP_OPTIONS_WITH_VALUE = {"--python", "--only-binary", "--requirement", "-r"}


def _pip_targets(command: list[str]) -> list[str]:
    """What a pip install names to install, options and their values left out."""
    targets: list[str] = []
    words = iter(command[command.index("install") + 1 :])
    for word in words:
        if word in _PIP_OPTIONS_WITH_VALUE:
            next(words)
        elif not word.startswith("-"):
            targets.append(word)
    return targets


def test_nothing_is_installed_from_a_version_range():
    # Each pip install is the hash-checked export of uv.lock, the app itself without its
    # dependencies, or uv (only to export the lock) at one pinned version.
    installs = _pip_installs()
    assert len(installs) == 3, installs
    for command in installs:
        targets = _pip_targets(command)
        if "--require-hashes" in command:
            assert targets == [], command
        elif targets == ["."]:
            assert "--no-deps" in command, command
        else:
            assert targets == ["uv==${UV_VERSION}"], command
            assert re.fullmatch(r"\d+\.\d+\.\d+", _arg_default("UV_VERSION"))


def test_final_stage_runs_as_a_non_root_user():
    user = _only(_final_stage(), "USER").value.split(":")[0]
    assert user not in {"root", "0"}


def test_final_stage_copies_only_the_virtualenv_from_the_build():
    copies = [i.value for i in _final_stage() if i.name == "COPY"]
    assert copies == ["--from=build /opt/venv /opt/venv"]
    assert "build" in _stage_names()


def test_final_stage_installs_nothing():
    # Build tools and package caches come from installing; the final stage only copies.
    runs = [i.value for i in _final_stage() if i.name == "RUN"]
    for run in runs:
        assert not re.search(r"\b(apt-get|apt|pip|pip3|uv)\s+install\b", run), run


def test_every_pip_install_leaves_no_cache():
    for stage in _stages():
        for instruction in stage:
            if instruction.name == "RUN" and re.search(r"\bpip\b.*\binstall\b", instruction.value):
                assert "--no-cache-dir" in instruction.value, instruction.value


def test_cmd_is_exec_form_serving_on_all_interfaces():
    cmd = _exec_form(_only(_final_stage(), "CMD").value)
    assert cmd[:2] == ["logger-app", "serve"]
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"


class _Exec(Exception):
    pass


def test_cmd_execs_uvicorn_under_opentelemetry_instrument_with_one_worker(monkeypatch):
    monkeypatch.setattr(os, "environ", dict(os.environ))
    executed: list[list[str]] = []

    def capture(path, argv, *env):
        executed.append(list(argv))
        raise _Exec

    # Whichever exec the CLI uses, the test process must never be replaced.
    for name in ("execv", "execve", "execvp", "execvpe"):
        monkeypatch.setattr(os, name, capture)
    cmd = _exec_form(_only(_final_stage(), "CMD").value)

    with pytest.raises(_Exec):
        cli.main(cmd[1:])

    [argv] = executed
    assert os.path.basename(argv[0]) == "opentelemetry-instrument"
    # uvicorn's own CLI, wrapped only to exit 0 after a graceful SIGTERM shutdown.
    assert argv[argv.index("-m") + 1] == "logger_app.server"
    assert argv[argv.index("--workers") + 1] == "1"
    assert "--proxy-headers" in argv


def test_cmd_port_is_the_exposed_port():
    cmd = _exec_form(_only(_final_stage(), "CMD").value)
    exposed = _only(_final_stage(), "EXPOSE").value.split()
    assert exposed == [cmd[cmd.index("--port") + 1]]


def test_healthcheck_is_exec_form_polling_liveness_on_the_served_port():
    healthcheck = _only(_final_stage(), "HEALTHCHECK").value
    options, _, command = healthcheck.partition("CMD")
    assert "--interval=" in options
    assert "--timeout=" in options
    probe = " ".join(_exec_form(command.strip()))
    cmd = _exec_form(_only(_final_stage(), "CMD").value)
    assert f"127.0.0.1:{cmd[cmd.index('--port') + 1]}/healthz" in probe


def _dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    patterns = []
    for raw in (REPO / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        glob = str(PurePosixPath(line.lstrip("!")))
        regex = re.escape(glob).replace(r"\*\*", ".*").replace(r"\*", "[^/]*").replace(r"\?", ".")
        patterns.append((negated, re.compile(f"^{regex}$")))
    return patterns


def _in_build_context(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    included = True
    for negated, regex in _dockerignore_patterns():
        if any(regex.match(c) for c in candidates):
            included = negated
    return included


def _copied_sources() -> list[str]:
    sources = []
    for stage in _stages():
        for instruction in stage:
            if instruction.name == "COPY" and not instruction.value.startswith("--from"):
                sources.extend(shlex.split(instruction.value)[:-1])
    return sources


def test_build_context_holds_everything_the_dockerfile_copies():
    for source in _copied_sources():
        assert (REPO / source).exists(), source
        assert _in_build_context(source.rstrip("/") + "/x" if source.endswith("/") else source)


@pytest.mark.parametrize(
    "path", [".git/config", ".venv/bin/python", ".env", "tests/unit/x.py", "infra/app.py"]
)
def test_build_context_leaves_out_local_state_and_other_code(path):
    assert not _in_build_context(path)
