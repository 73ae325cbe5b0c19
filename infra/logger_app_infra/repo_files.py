"""Files from the repository that the CDK app reads at synth time."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


class MissingRepoFileError(FileNotFoundError):
    """A file another part of the repository provides is not there (yet)."""


def read_repo_file(relative_path: str, root: Path = REPO_ROOT) -> str:
    path = root / relative_path
    if not path.is_file():
        raise MissingRepoFileError(
            f"{relative_path} is missing at {path}: the CDK app reads it at synth time "
            "(it is part of the repository, not generated). Restore it, then synth again."
        )
    return path.read_text(encoding="utf-8")
