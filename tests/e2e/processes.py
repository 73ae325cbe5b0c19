"""Waiting on the end-to-end stack: an HTTP readiness check, polling a value until it holds.
The processes themselves are harness.processes.ManagedProcess."""

import time
import urllib.request
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


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
