"""The tools built from source by scripts/build-*.sh (the collector, Fluent Bit, Sloth), cached
outside the repository."""

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def built_binary(script: str) -> Path:
    """Run one of the build scripts (``scripts/build-*.sh``) and return the path it prints.

    The first call on a machine builds (minutes); later calls return the cached binary.
    """
    path = REPO / "scripts" / script
    result = subprocess.run(["bash", str(path)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"scripts/{script} failed (exit {result.returncode}); see its header for what it "
            f"needs:\n{result.stderr[-4000:]}"
        )
    return Path(result.stdout.strip().splitlines()[-1])


def build_collector() -> Path:
    """Path of the collector binary; builds it on the first call on a machine (minutes)."""
    return built_binary("build-collector.sh")
