"""Placeholder while the harness is smoke-tested."""

from pathlib import Path
from typing import Any


def write_outputs(
    results: dict[str, Any], chart_path: Path, markdown_path: Path | None, json_path: Path
) -> list[Path]:
    return []
