"""The project's image, built from its Dockerfile as it is (tests/containers/conftest.py), run
as a user runs it: beside the AWS emulator's image on a network of their own, with no collector
listening, its API port published on 127.0.0.1."""

import json
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.containers.engine import Engine
from tests.containers.images import Images
from tests.e2e.processes import poll

pytestmark = pytest.mark.timeout(1800)

NETWORK = "logger-app-image-test"
EMULATOR_ENV = {
    "AWS_ENDPOINT_URL": "http://moto:5000",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "local",  # moto accepts any credentials
    "AWS_SECRET_ACCESS_KEY": "local",
    "LOGGER_APP_LOCAL_ISSUER_DIR": "/tmp/local-issuer",
}
COMPILERS = {"cc", "gcc", "c++", "g++", "cc1", "clang", "x86_64-linux-gnu-gcc"}


@dataclass(frozen=True)
class Running:
    container: str
    url: str


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def _env_args(env: dict[str, str]) -> list[str]:
    return [f"--env={name}={value}" for name, value in env.items()]


@pytest.fixture(scope="module")
def service(engine: Engine, images: Images, app_image: str) -> Iterator[Running]:
    engine.docker("rm", "--force", "image-test-app", "image-test-moto", check=False)
    engine.docker("network", "rm", NETWORK, check=False)
    engine.docker("network", "create", NETWORK)
    try:
        engine.docker(
            "run", "--detach", "--name=image-test-moto", f"--network={NETWORK}",
            "--network-alias=moto", images.services["moto"],
        )  # fmt: skip
        engine.docker(
            "run", "--detach", "--name=image-test-app", f"--network={NETWORK}",
            "--publish=127.0.0.1::8000", *_env_args(EMULATOR_ENV), app_image,
        )  # fmt: skip
        published = engine.docker("port", "image-test-app", "8000/tcp").stdout.split()[0]
        yield Running("image-test-app", f"http://{published}")
    finally:
        engine.docker("rm", "--force", "image-test-app", "image-test-moto", check=False)
        engine.docker("network", "rm", NETWORK, check=False)


def test_healthz_answers_and_readyz_follows_the_emulators_tables(
    engine: Engine, service: Running, app_image: str
) -> None:
    healthz = poll(lambda: _status(service.url + "/healthz"), until=lambda s: s == 200)
    logs = engine.docker("logs", service.container)
    assert healthz == 200, f"{service.url}/healthz: {healthz}\n{logs.stdout[-3000:]}{logs.stderr}"
    # No tables or queues yet: not ready.
    assert _status(service.url + "/readyz") == 503

    def bootstrap() -> int:
        return engine.docker(
            "run", "--rm", f"--network={NETWORK}", *_env_args(EMULATOR_ENV), app_image,
            "logger-app", "bootstrap", check=False,
        ).returncode  # fmt: skip

    assert poll(bootstrap, until=lambda code: code == 0, timeout=60, every=1) == 0
    assert poll(lambda: _status(service.url + "/readyz"), until=lambda s: s == 200) == 200


def test_the_service_runs_as_uid_10001(engine: Engine, service: Running) -> None:
    status = engine.docker("exec", service.container, "cat", "/proc/1/status").stdout
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    assert uids == ["10001"] * 4
    command = engine.docker("exec", service.container, "cat", "/proc/1/cmdline").stdout
    assert "logger_app.server" in command.replace("\0", " ")


def test_the_images_own_health_check_reports_healthy(engine: Engine, service: Running) -> None:
    def health() -> dict[str, object]:
        state = engine.docker("inspect", "--format", "{{json .State}}", service.container)
        parsed: dict[str, object] = json.loads(state.stdout).get("Health") or {}
        return parsed

    # The Dockerfile's HEALTHCHECK: every 10 s, after a 20 s start period.
    final = poll(health, until=lambda h: h.get("Status") == "healthy", timeout=90, every=1)
    assert final.get("Status") == "healthy", final


def _layer_members(engine: Engine, image: str, base: str, workdir: Path) -> list[str]:
    """The paths in the layers the Dockerfile's runtime stage adds on top of its base."""

    def diff_ids(name: str) -> list[str]:
        found = engine.docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", name)
        layers: list[str] = json.loads(found.stdout)
        return layers

    base_layers, image_layers = diff_ids(base), diff_ids(image)
    assert image_layers[: len(base_layers)] == base_layers, "the image is not built on its base"
    archive = workdir / "image.tar"
    engine.docker("save", f"--output={archive}", image)
    members: list[str] = []
    with tarfile.open(archive) as saved:
        manifest = json.load(saved.extractfile("manifest.json"))  # type: ignore[arg-type]
        for layer in manifest[0]["Layers"][len(base_layers) :]:
            with tarfile.open(fileobj=saved.extractfile(layer)) as layer_tar:
                members += layer_tar.getnames()
    return members


def test_the_runtime_layers_hold_no_uv_pip_cache_compiler_or_sources(
    engine: Engine, images: Images, app_image: str, tmp_path: Path
) -> None:
    members = _layer_members(engine, app_image, images.python, tmp_path)
    assert any("site-packages/logger_app/" in path for path in members), "no app in the venv?"
    names = {Path(path).name for path in members}
    assert not names & {"uv", "uvx"}, "uv is in the runtime image"
    assert not [p for p in members if "/site-packages/pip/" in p or p.endswith("bin/pip")]
    assert not [p for p in members if ".cache/pip" in p or p.startswith("root/.cache")]
    assert not names & COMPILERS, names & COMPILERS
    assert not [p for p in members if p.startswith(("build/", "src/"))], "sources in the image"


def test_docker_stop_exits_0_within_2_seconds_with_no_collector_listening(
    engine: Engine, service: Running
) -> None:
    # Telemetry waiting to be exported: a sign-up's trace and the metrics. Nothing listens on
    # the OTLP endpoint (localhost:4317 in the container), so every export fails.
    token = engine.docker(
        "exec", service.container, "logger-app", "token", "--scope", "signups:write"
    ).stdout.strip()
    request = urllib.request.Request(
        service.url + "/v1/signups",
        data=json.dumps({"email": "image-test@example.com", "full_name": "Image Test"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
    time.sleep(1)

    started = time.monotonic()
    engine.docker("stop", service.container)  # SIGTERM, then SIGKILL after 10 s
    elapsed = time.monotonic() - started
    state = json.loads(
        engine.docker("inspect", "--format", "{{json .State}}", service.container).stdout
    )
    logs = engine.docker("logs", service.container)
    assert state["ExitCode"] == 0, logs.stdout[-3000:]
    assert elapsed <= 2.0, f"docker stop took {elapsed:.1f}s"
    assert "Finished server process" in logs.stdout
