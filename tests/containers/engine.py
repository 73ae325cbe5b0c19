"""A private Docker engine for the container tests: Debian's dockerd with its own data root,
exec root and socket, and none of the host's network settings.

    --iptables=false --ip6tables=false   no firewall rules
    --bridge=none                        no docker0 bridge (compose's own networks still work)
    --ip-forward=false --ip-masq=false   no forwarding, no masquerading: nothing leaves the host

Its data root is cached outside the repo (CACHE below) and outlives the engine, so the images
built in one run (tests/containers/images.py) are there for the next. One engine runs on a
machine at a time: a lock is held from start to stop, and a second run waits for it (the stack
publishes fixed ports on 127.0.0.1, so two could not run side by side anyway).
"""

import contextlib
import ctypes
import fcntl
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "logger-app" / "docker"

DAEMON_FLAGS = (
    "--iptables=false",
    "--ip6tables=false",
    "--bridge=none",
    "--ip-forward=false",
    "--ip-masq=false",
    "--storage-driver=overlay2",
)

_PR_SET_PDEATHSIG = 1


class EngineError(RuntimeError):
    pass


@dataclass(frozen=True)
class Engine:
    """A running engine: `docker` and `compose` run the CLIs against it."""

    socket: Path
    config: Path

    @property
    def env(self) -> dict[str, str]:
        """The environment a docker CLI needs for this engine, on top of the caller's: its
        socket, its own CLI config (with the compose plugin), and the classic builder (BuildKit
        would fetch the Dockerfile's `# syntax=` frontend image from a registry)."""
        return {
            **os.environ,
            "DOCKER_HOST": f"unix://{self.socket}",
            "DOCKER_CONFIG": str(self.config),
            "DOCKER_BUILDKIT": "0",
            "COMPOSE_DOCKER_CLI_BUILD": "0",
        }

    def docker(
        self,
        *args: str,
        check: bool = True,
        input: bytes | None = None,
        cwd: Path | None = None,
        timeout: float = 600,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return _run(["docker", *args], self.env | dict(env or {}), check, input, cwd, timeout)

    def compose(self, *args: str, **options: Any) -> subprocess.CompletedProcess[str]:
        return self.docker("compose", *args, **options)

    def remove_all_containers(self) -> None:
        ids = self.docker("ps", "--all", "--quiet").stdout.split()
        if ids:
            self.docker("rm", "--force", "--volumes", *ids)


def _run(
    command: Sequence[str],
    env: Mapping[str, str],
    check: bool,
    input: bytes | None,
    cwd: Path | None,
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command,
        env=env,
        input=input.decode() if input is not None else None,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise EngineError(
            f"{' '.join(command)} exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
        )
    return result


def _die_with_parent() -> None:
    # If the test run is killed, the engine stops too (and releases nothing it should keep).
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def _machine_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"[containers] another run holds {path}; waiting for it", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _install_compose_plugin(config: Path, compose: Path) -> None:
    plugins = config / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    link = plugins / "docker-compose"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(compose)


@contextlib.contextmanager
def private_engine(compose: Path, cache: Path = CACHE, timeout: float = 60) -> Iterator[Engine]:
    """Starts dockerd as described above; stops it (and every container) at the end."""
    dockerd = shutil.which("dockerd")
    if dockerd is None or shutil.which("docker") is None:
        raise EngineError(
            "dockerd is not installed: run scripts/install-container-tools.sh "
            "(Debian's docker.io; `make containers` does)"
        )
    with _machine_lock(cache.parent / "docker.lock"):
        socket = cache / "docker.sock"
        engine = Engine(socket=socket, config=cache / "cli")
        _install_compose_plugin(engine.config, compose)
        log_path = cache / "dockerd.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [
                    dockerd,
                    *DAEMON_FLAGS,
                    f"--data-root={cache / 'data'}",
                    f"--exec-root={cache / 'exec'}",
                    f"--pidfile={cache / 'dockerd.pid'}",
                    f"--host=unix://{socket}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
            try:
                _wait_until_ready(engine, process, log_path, timeout)
                yield engine
            finally:
                _stop(engine, process, log)
                _unmount_under(cache / "exec")


def _wait_until_ready(
    engine: Engine, process: "subprocess.Popen[bytes]", log_path: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise EngineError(f"dockerd exited {process.returncode}:\n{log_path.read_text()}")
        if engine.docker("version", check=False, timeout=10).returncode == 0:
            return
        if time.monotonic() > deadline:
            raise EngineError(f"dockerd not ready within {timeout}s:\n{log_path.read_text()}")
        time.sleep(0.2)


def _stop(engine: Engine, process: "subprocess.Popen[bytes]", log: IO[str]) -> None:
    if process.poll() is None:
        # Containers left behind would be restarted (restart: unless-stopped) by the next run's
        # engine before its tests begin.
        with contextlib.suppress(EngineError, subprocess.TimeoutExpired):
            engine.remove_all_containers()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log.flush()


def _unmount_under(root: Path) -> None:
    """What dockerd leaves mounted in its exec root when it stops (its host network
    namespace, bound at netns/default)."""
    for line in Path("/proc/mounts").read_text().splitlines():
        mount_point = line.split()[1]
        if mount_point.startswith(f"{root}/"):
            subprocess.run(["umount", "--lazy", mount_point], check=False)
