"""A Prometheus with the remote-write receiver (AMP's stand-in), and PromQL against it.

Like AMP it evaluates the alert rules and sends alerts to an Alertmanager, when given both: the
rules files (tests/e2e/rules.py: the repository's on the harness's faster clock) and the
Alertmanager's address."""

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from harness.processes import ManagedProcess, free_port
from tests.e2e.processes import http_ok


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


# Rules are evaluated every second: a minute of production on the harness's clock is 6 s.
EVALUATION_INTERVAL = "1s"


class Prometheus:
    def __init__(
        self, workdir: Path, rules: list[Path] | None = None, alertmanager: str | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "prometheus.yml"
        # No scrape jobs: everything arrives through remote write, as into AMP.
        settings: dict[str, Any] = {
            "global": {"scrape_interval": "1m", "evaluation_interval": EVALUATION_INTERVAL}
        }
        if rules is not None:
            settings["rule_files"] = [str(path) for path in rules]
        if alertmanager is not None:
            settings["alerting"] = {
                "alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]
            }
        config.write_text(yaml.safe_dump(settings))
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

    def alerts(self) -> list[dict[str, Any]]:
        """Active alerts (pending and firing), each with labels, annotations, state, activeAt."""
        alerts: list[dict[str, Any]] = self._get("/api/v1/alerts", {})["alerts"]
        return alerts

    def alerting_rules(self) -> set[str]:
        groups = self._get("/api/v1/rules", {"type": "alert"})["groups"]
        return {rule["name"] for group in groups for rule in group["rules"]}
