"""Shared helpers for the deployment-file tests: repo paths and the external tools they need."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def require_tool(name: str, install_hint: str) -> str:
    """Path of a command-line tool; fails (never skips) with how to install it when absent."""
    found = shutil.which(name)
    if found is None and shutil.which("go"):
        gopath = subprocess.run(
            ["go", "env", "GOPATH"], capture_output=True, text=True, check=True
        ).stdout.strip()
        candidate = Path(gopath) / "bin" / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            found = str(candidate)
    if found is None:
        pytest.fail(f"{name} is not installed: {install_hint}", pytrace=False)
    return found
