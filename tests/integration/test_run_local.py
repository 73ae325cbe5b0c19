"""`make run` (`scripts/run-local.sh`) when its emulator cannot start: it stops with the
emulator's own error, naming the port and `MOTO_PORT`, and never serves the API without its
storage."""

import os
import socket
import subprocess
import urllib.error
import urllib.request

from tests.support import REPO, free_port


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
