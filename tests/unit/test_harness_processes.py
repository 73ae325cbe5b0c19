"""The test harness's own promise: a process it started is stopped within a bound, even one
that does not exit on SIGTERM (moto's server after many transactions: harness/emulator.py)."""

import signal
import subprocess
import sys

from harness.processes import stop_process

IGNORES_SIGTERM = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(120)\n"
)


def _started(code: str) -> "subprocess.Popen[str]":
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    return process


def test_a_process_deaf_to_sigterm_is_killed_once_the_grace_has_passed() -> None:
    process = _started(IGNORES_SIGTERM)
    stop_process(process, grace=0.5)
    assert process.returncode == -signal.SIGKILL


def test_a_process_that_exits_on_sigterm_is_not_killed() -> None:
    process = _started("import time\nprint('ready', flush=True)\ntime.sleep(120)\n")
    stop_process(process, grace=30)
    assert process.returncode == -signal.SIGTERM


def test_a_process_that_already_ended_is_left_alone() -> None:
    process = _started("print('ready', flush=True)\n")
    process.wait()
    stop_process(process)
    assert process.returncode == 0
