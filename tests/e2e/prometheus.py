"""A Prometheus with the remote-write receiver (AMP's stand-in), and PromQL against it."""

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.processes import ManagedProcess, http_ok
from tests.support import free_port


def prometheus_binary() -> str:
    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError(
            "prometheus is not installed: run scripts/ensure-e2e-tools.sh "
            "(Debian's `prometheus` package)"
        )
    return binary


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


class Prometheus:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "prometheus.yml"
        # No scrape jobs: everything arrives through remote write, as into AMP.
        config.write_text("global:\n  scrape_interval: 1m\n")
        self.process = ManagedProcess(
            "prometheus",
            [
                prometheus_binary(),
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-remote-write-receiver",
                "--log.level=warn",
            ],
            workdir / "prometheus.log",
        )

    @property
    def remote_write_url(self) -> str:
        return f"{self.url}/api/v1/write"

    def start(self) -> None:
        self.process.start()
        self.process.wait_until(http_ok(f"{self.url}/-/ready"))

    def stop(self) -> None:
        self.process.stop()

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        response = httpx.get(f"{self.url}{path}", params=params, timeout=10)
        response.raise_for_status()
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]

    def query(self, promql: str) -> list[Sample]:
        data = self._get("/api/v1/query", {"query": promql})
        return [
            Sample(labels=item["metric"], value=float(item["value"][1])) for item in data["result"]
        ]

    def query_range(self, promql: str, *, step: int, duration_s: int) -> list[float]:
        """Every value of every series, evaluated from now - duration_s to now, every step."""
        end = time.time()
        data = self._get(
            "/api/v1/query_range",
            {"query": promql, "start": end - duration_s, "end": end, "step": step},
        )
        return [float(value) for series in data["result"] for _, value in series["values"]]

    def series(self, match: str) -> list[dict[str, str]]:
        result: list[dict[str, str]] = self._get("/api/v1/series", {"match[]": match})
        return result

    def metric_names(self) -> set[str]:
        return set(self._get("/api/v1/label/__name__/values", {}))
