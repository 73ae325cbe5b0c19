"""`make run` (`scripts/run-local.sh`) as a real process: when its emulator cannot start it stops
with the emulator's own error, naming the port and `MOTO_PORT`, and never serves the API without
its storage; Ctrl-C stops all it started within 3 s, the emulator after the API."""

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harness.builds import REPO
from harness.processes import free_port, wait_for_http


def test_a_taken_emulator_port_stops_make_run_with_the_reason() -> None:
    port = free_port()
    with socket.socket() as taken:
        # Something else listening on the emulator's port, as macOS's AirPlay does on 5000.
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        moto_port = taken.getsockname()[1]
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOGGER_APP_"))},
            "PORT": str(port),
            "MOTO_PORT": str(moto_port),
            "OTEL_SDK_DISABLED": "true",
        }
        run = subprocess.run(
            ["bash", str(REPO / "scripts" / "run-local.sh")],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            start_new_session=True,
        )

    assert run.returncode != 0
    assert f"127.0.0.1:{moto_port}" in run.stderr, run.stderr
    assert "MOTO_PORT" in run.stderr, run.stderr
    assert "in use" in run.stderr  # moto's own words
    assert "queue:" not in run.stdout
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except urllib.error.URLError:
        pass
    else:
        raise AssertionError("the API served without its emulator")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_everything_within_3_seconds_the_api_before_the_emulator(
    signum: signal.Signals, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "LOGGER_APP_", "OTEL_"))
        },
        "PORT": str(port),
        "MOTO_PORT": str(free_port()),
        "LOGGER_APP_LOCAL_ISSUER_DIR": str(tmp_path / "issuer"),
        # No collector listens here, as on a laptop without the local stack.
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}",
    }
    with tempfile.TemporaryFile() as output:
        run = subprocess.Popen(
            ["bash", str(REPO / "scripts" / "run-local.sh")],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            # Its own process group, as make's in a terminal: Ctrl-C signals the group.
            start_new_session=True,
        )
        try:
            wait_for_http(f"http://127.0.0.1:{port}/readyz", timeout=60)
            children = _children(run.pid)
            assert len(children) == 3, children  # the emulator, the worker and the API
            time.sleep(1)

            started = time.monotonic()
            os.killpg(run.pid, signum)
            while any(map(_running, children)) or run.poll() is None:
                elapsed = time.monotonic() - started
                assert elapsed <= 3.0, f"still running {elapsed:.1f}s after the signal"
                time.sleep(0.05)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        output.seek(0)
        log = output.read().decode()

    assert "service started" in log, log
    # The emulator outlived the API's last outbox drain, and the missing collector went unsaid
    # but for one JSON line.
    assert "outbox drain failed" not in log, log
    assert "Transient error" not in log, log
    assert "Failed to export" not in log, log
