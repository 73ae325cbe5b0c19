"""Long-running helper processes for the end-to-end stack, always ended by their owner."""

import os
import subprocess
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from tests.support import stop_process

T = TypeVar("T")


class ManagedProcess:
    """One child process with its output in a file; can be stopped and started again."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else dict(os.environ)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop_process(process, grace=timeout)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_until(self, ready: Callable[[], bool], timeout: float = 60.0) -> None:
        """Poll `ready` until true; fail early, with the process's output, if it died."""
        deadline = time.monotonic() + timeout
        while not ready():
            if not self.running:
                raise RuntimeError(f"{self.name} exited during start-up:\n{self.output()[-4000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.name} not ready after {timeout}s:\n{self.output()[-4000:]}"
                )
            time.sleep(0.1)


def http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                status: int = response.status
                return 200 <= status < 300
        except OSError:
            return False

    return check


def poll(
    read: Callable[[], T], until: Callable[[T], bool], timeout: float = 60.0, every: float = 0.5
) -> T:
    """Read again and again until the value satisfies `until`; return the last value read,
    so a failing assertion after a timeout shows what was there."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if until(value) or time.monotonic() > deadline:
            return value
        time.sleep(every)
