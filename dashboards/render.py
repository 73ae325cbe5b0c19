"""Every dashboard, rendered to the JSON files Grafana provisions from grafana/dashboards/."""

import json
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import patients, service_health

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "grafana" / "dashboards"

# File name -> builder. The file names are what Grafana's file provider loads.
DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    "patients-live.json": patients.build,
    "service-health.json": service_health.build,
}


def render(build: Callable[[], Dashboard]) -> str:
    # Sorted keys and a final newline: regenerating is byte-for-byte stable.
    return json.dumps(build(), cls=JSONEncoder, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rendered() -> dict[str, str]:
    return {name: render(build) for name, build in DASHBOARDS.items()}


def write(output: Path = OUTPUT) -> list[Path]:
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in rendered().items():
        path = output / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written
