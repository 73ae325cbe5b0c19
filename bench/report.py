"""Everything a run writes besides its raw JSON: the summary in it, the chart, the table."""

import json
import os
from pathlib import Path
from typing import Any

from bench import chart, markdown
from bench.analysis import summary


def write_outputs(
    results: dict[str, Any], chart_path: Path, markdown_path: Path | None, json_path: Path
) -> list[Path]:
    results["summary"] = summary(results)
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    written = [chart.draw(results, chart_path)]
    if markdown_path is not None:
        base = markdown_path.parent
        section = markdown.render(
            results,
            os.path.relpath(json_path, base),
            os.path.relpath(chart_path, base),
        )
        markdown.update(markdown_path, section)
        written.append(markdown_path)
    return written
