"""Fixtures of the container tests: a private Docker engine (tests/containers/engine.py), the
stand-in images (tests/containers/images.py), and the project's image built from its
Dockerfile. The engine runs for this folder's tests only and is stopped after the last."""

import time
from collections.abc import Iterator

import pytest

from harness.builds import REPO, built_binary
from tests.containers.engine import Engine, private_engine
from tests.containers.images import Images, build_all, image_exists, image_id

APP_IMAGE = "logger-app:local"  # the tag docker-compose.yml gives the app's image

# What the images measured, for the summary at the end of the run.
SIZES: dict[str, int] = {}
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="package")
def engine() -> Iterator[Engine]:
    compose = built_binary("fetch-compose.sh")
    with private_engine(compose) as running:
        yield running


@pytest.fixture(scope="package")
def images(engine: Engine) -> Images:
    started = time.monotonic()
    binaries = {
        "otelcol": built_binary("build-collector.sh"),
        "fluent-bit": built_binary("build-fluent-bit.sh"),
    }
    work = engine.socket.parent / "work"
    work.mkdir(exist_ok=True)
    built = build_all(engine, REPO, binaries, work)
    TIMINGS["stand-in images (built or found)"] = time.monotonic() - started
    return built


@pytest.fixture(scope="package")
def app_image(engine: Engine, images: Images) -> str:
    """The project's Dockerfile, as it is, built the way a user builds it (`docker build`),
    with the classic builder and the host's network (the engine has no bridge)."""
    previous = image_id(engine, APP_IMAGE) if image_exists(engine, APP_IMAGE) else None
    started = time.monotonic()
    engine.docker("build", "--network=host", f"--tag={APP_IMAGE}", str(REPO), timeout=1500)
    TIMINGS[f"{APP_IMAGE} build"] = time.monotonic() - started
    if previous is not None and previous != image_id(engine, APP_IMAGE):
        # The last run's image (the build cache, in untagged images of its own, stays).
        engine.docker("image", "rm", previous, check=False)
    for name in (APP_IMAGE, images.python):
        SIZES[name] = int(
            engine.docker("image", "inspect", "--format", "{{.Size}}", name).stdout.strip()
        )
    return APP_IMAGE


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SIZES and not TIMINGS:
        return
    terminalreporter.section("containers")
    for name, size in SIZES.items():
        terminalreporter.write_line(f"image {name}: {size / 1e6:.0f} MB")
    for what, seconds in TIMINGS.items():
        terminalreporter.write_line(f"{what}: {seconds:.0f} s")
