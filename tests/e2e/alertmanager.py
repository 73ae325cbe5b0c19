"""Alertmanager (Debian's prometheus-alertmanager) with the repository's routing, and a webhook
receiver standing in for the people it notifies."""

import json
import shutil
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from harness.processes import ManagedProcess, free_port
from tests.e2e.processes import http_ok
from tests.e2e.rules import write_routing


def alertmanager_binary() -> str:
    # Debian names it prometheus-alertmanager; upstream's tarball, alertmanager.
    for name in ("prometheus-alertmanager", "alertmanager"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(
        "Alertmanager is not installed: run scripts/ensure-e2e-tools.sh "
        "(Debian's `prometheus-alertmanager` package)"
    )


@dataclass(frozen=True)
class Notification:
    """One webhook call: Alertmanager's payload (version 4)."""

    receiver: str
    status: str  # firing or resolved: of the group
    alerts: list[dict[str, Any]]  # each with status, labels, annotations, startsAt, endsAt


class WebhookReceiver:
    """Records every notification Alertmanager posts to it."""

    def __init__(self) -> None:
        self._notifications: list[Notification] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with receiver._lock:
                    receiver._notifications.append(
                        Notification(body["receiver"], body["status"], body["alerts"])
                    )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def notifications(self) -> list[Notification]:
        with self._lock:
            return list(self._notifications)


class Alertmanager:
    def __init__(self, workdir: Path, webhook_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = write_routing(workdir, webhook_url)
        self.process = ManagedProcess(
            "alertmanager",
            [
                alertmanager_binary(),
                f"--config.file={config}",
                f"--storage.path={workdir / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                # No cluster: its default port (9094) would clash between parallel runs.
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            workdir / "alertmanager.log",
        )

    @property
    def address(self) -> str:
        """host:port, as Prometheus's alerting config names it."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process.start()
        self.process.wait_until(http_ok(f"{self.url}/-/ready"))

    def stop(self) -> None:
        self.process.stop()

    def alerts(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v2/alerts", timeout=10)
        response.raise_for_status()
        alerts: list[dict[str, Any]] = response.json()
        return alerts
