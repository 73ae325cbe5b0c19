"""The app's and the worker's stdout into the real Fluent Bit (the log router's configs), as
Docker's fluentd log driver carries a container's lines to FireLens: each new line of their
output files, tagged with its container's name, sent in the forward protocol."""

import threading
from pathlib import Path

from tests.log_router.router import LogRouter


class Shipper:
    def __init__(self, router: LogRouter, sources: dict[str, Path]) -> None:
        self.router = router
        # container name -> its output file, and how far it has been read.
        self.offsets = {container: (path, 0) for container, path in sources.items()}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        for container, (path, _) in self.offsets.items():
            # Only what is written from now on: as a log driver attached to a new container.
            self.offsets[container] = (path, path.stat().st_size if path.exists() else 0)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for container, (path, offset) in list(self.offsets.items()):
                if not path.exists():
                    continue
                with path.open("rb") as output:
                    output.seek(offset)
                    data = output.read()
                complete = data[: data.rfind(b"\n") + 1]
                if not complete:
                    continue
                self.offsets[container] = (path, offset + len(complete))
                lines = [line for line in complete.decode(errors="replace").splitlines() if line]
                self.router.send(lines, container=container)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
