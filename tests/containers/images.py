"""The images the container tests need and no registry here can serve, built locally.

- A Debian trixie root file system (`debootstrap --variant=minbase`), imported as an image.
- On it, stand-ins for `debian:trixie-slim` and for the Dockerfile's `python:<version>-slim-trixie`
  (standins/debian, standins/python): the project's Dockerfile builds, unchanged, on the latter.
- For each third-party image the compose file pins, a stand-in tagged with that very name,
  built from what this machine can install (standins/<service>/Dockerfile says from what).

Each image is tagged `logger-app-stand-in/<name>:<key>`, the key a hash of everything it is
built from (its folder, the files and arguments it is given, its base image's id), in the
engine's cached data root: a run finds what an earlier run built and only tags it again, and
removes the stand-ins of other keys.
"""

import hashlib
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from dockerfile_parse import DockerfileParser

from tests.containers.engine import Engine, EngineError

STAND_INS = Path(__file__).parent / "standins"
LOG_ROUTER = Path(__file__).parent.parent / "log_router"
E2E = Path(__file__).parent.parent / "e2e"
MACHINE_CA_CERTIFICATES = Path("/usr/local/share/ca-certificates")
REPOSITORY = "logger-app-stand-in"

DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBOOTSTRAP = ("debootstrap", "--variant=minbase", "trixie")

# The compose services whose image is replaced by a stand-in, and the stand-in's folder.
# Grafana is not run (nothing here can stand in for it); its provisioning is checked by
# tests/dashboards and tests/deploy.
COMPOSE_STAND_INS = {
    "moto": "moto",
    "otel-collector": "collector",
    "fluent-bit": "fluent-bit",
    "prometheus": "prometheus",
    "alertmanager": "alertmanager",
    "loki": "loki",
    "tempo": "tempo",
}


@dataclass(frozen=True)
class StandIn:
    folder: str
    base: str
    tags: tuple[str, ...] = ()
    files: Mapping[str, Path] = field(default_factory=dict)
    args: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Images:
    """What was built: the Python stand-in's name, and each compose service's stand-in."""

    python: str
    services: Mapping[str, str]


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def image_exists(engine: Engine, name: str) -> bool:
    return engine.docker("image", "inspect", name, check=False).returncode == 0


def image_id(engine: Engine, name: str) -> str:
    return engine.docker("image", "inspect", "--format", "{{.Id}}", name).stdout.strip()


def trixie_rootfs(engine: Engine, work: Path) -> str:
    """The debootstrapped root file system as an image (about 30 s the first time)."""
    name = f"{REPOSITORY}/trixie-rootfs:{_key(*DEBOOTSTRAP, DEBIAN_MIRROR)}"
    if image_exists(engine, name):
        return name
    with tempfile.TemporaryDirectory(dir=work) as scratch:
        root = Path(scratch) / "root"
        made = subprocess.run(
            [*DEBOOTSTRAP, str(root), DEBIAN_MIRROR],
            check=False,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if made.returncode != 0:
            raise EngineError(f"debootstrap failed:\n{made.stdout[-3000:]}{made.stderr[-3000:]}")
        with subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE) as tar:
            assert tar.stdout is not None
            imported = subprocess.run(
                ["docker", "import", "-", name],
                stdin=tar.stdout,
                env=engine.env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        if tar.returncode != 0 or imported.returncode != 0:
            raise EngineError(f"docker import of the trixie root file system: {imported.stderr}")
    return name


def build(engine: Engine, stand_in: StandIn, work: Path) -> str:
    """The stand-in's image, built unless an image with its key exists; tagged with its tags."""
    folder = STAND_INS / stand_in.folder
    parts = [stand_in.folder, image_id(engine, stand_in.base)]
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            parts += [str(path.relative_to(folder)), _sha256_file(path)]
    for name, path in sorted(stand_in.files.items()):
        parts += [name, _sha256_file(path) if path.is_file() else _tree_key(path)]
    parts += [f"{name}={value}" for name, value in sorted(stand_in.args.items())]
    name = f"{REPOSITORY}/{stand_in.folder}:{_key(*parts)}"
    if not image_exists(engine, name):
        with tempfile.TemporaryDirectory(dir=work) as scratch:
            context = Path(scratch) / "context"
            shutil.copytree(folder, context)
            for target, path in stand_in.files.items():
                if path.is_dir():
                    shutil.copytree(path, context / target)
                else:
                    shutil.copy2(path, context / target)
            arguments = {"BASE": stand_in.base, **stand_in.args}
            build_args = [f"--build-arg={key}={value}" for key, value in arguments.items()]
            engine.docker(
                "build", "--network=host", *build_args, f"--tag={name}", str(context), timeout=1200
            )
    for tag in stand_in.tags:
        engine.docker("tag", name, tag)
    return name


def _tree_key(path: Path) -> str:
    return _key(*(f"{p.relative_to(path)}:{_sha256_file(p)}" for p in sorted(path.rglob("*"))))


def dockerfile_bases(dockerfile: Path) -> set[str]:
    """The images the Dockerfile's stages start FROM (earlier stages left out)."""
    images, stages = set(), set()
    for instruction in DockerfileParser(path=str(dockerfile)).structure:
        if instruction["instruction"] == "FROM":
            words = instruction["value"].split()
            images.add(words[0])
            if len(words) == 3 and words[1].lower() == "as":
                stages.add(words[2])
    return images - stages


def locked_version(lock: Path, package: str) -> str:
    for entry in tomllib.loads(lock.read_text())["package"]:
        if entry["name"] == package:
            return str(entry["version"])
    raise KeyError(f"{package} is not in {lock}")


def build_all(engine: Engine, repo: Path, binaries: Mapping[str, Path], work: Path) -> Images:
    """Every image the tests need but the app's: `binaries` holds the built `otelcol` and
    `fluent-bit`. Stand-ins left from older keys are removed at the end."""
    rootfs = trixie_rootfs(engine, work)
    certificates = [p for p in MACHINE_CA_CERTIFICATES.glob("*.crt") if p.is_file()]
    with tempfile.TemporaryDirectory(dir=work) as scratch:
        ca_folder = Path(scratch)
        for certificate in certificates:
            shutil.copy2(certificate, ca_folder / certificate.name)
        debian = build(
            engine, StandIn("debian", rootfs, files={"ca-certificates": ca_folder}), work
        )

    (python_tag,) = dockerfile_bases(repo / "Dockerfile")
    python = build(engine, StandIn("python", debian, tags=(python_tag,)), work)

    compose: dict[str, Any] = yaml.safe_load((repo / "docker-compose.yml").read_text())
    pinned = {service: compose["services"][service]["image"] for service in COMPOSE_STAND_INS}
    lock = repo / "uv.lock"
    otelcol = {"otelcol": binaries["otelcol"]}
    stand_ins = [
        StandIn(
            "moto",
            python,
            (pinned["moto"],),
            args={"MOTO_VERSION": pinned["moto"].rsplit(":", 1)[1]},
        ),
        StandIn("collector", debian, (pinned["otel-collector"],), files=otelcol),
        StandIn(
            "fluent-bit",
            debian,
            (pinned["fluent-bit"],),
            files={"fluent-bit": binaries["fluent-bit"]},
        ),
        StandIn("prometheus", debian, (pinned["prometheus"],)),
        StandIn("alertmanager", debian, (pinned["alertmanager"],)),
        StandIn(
            "loki",
            python,
            (pinned["loki"],),
            files={"loki_receiver.py": LOG_ROUTER / "loki_receiver.py"},
            args={
                "CRAMJAM_VERSION": locked_version(lock, "cramjam"),
                "PYYAML_VERSION": locked_version(lock, "pyyaml"),
            },
        ),
        StandIn(
            "tempo",
            python,
            (pinned["tempo"],),
            files={**otelcol, "trace_store.py": E2E / "trace_store.py"},
        ),
    ]
    built = [build(engine, stand_in, work) for stand_in in stand_ins]
    _remove_stale(engine, {rootfs, debian, python, *built})
    return Images(python=python_tag, services=pinned)


def _remove_stale(engine: Engine, current: set[str]) -> None:
    listed = engine.docker(
        "image",
        "ls",
        "--filter",
        f"reference={REPOSITORY}/*",
        "--format",
        "{{.Repository}}:{{.Tag}}",
    ).stdout.split()
    stale = [name for name in listed if name not in current]
    if stale:
        engine.docker("image", "rm", *stale, check=False)
