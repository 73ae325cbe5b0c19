"""The Loki stand-in's `/usr/bin/loki`: the tests' Loki push-API receiver
(tests/log_router/loki_receiver.py), run as Loki's image runs Loki. Loki itself is AGPL and
cannot be built or fetched here.

    loki -config.file=PATH   serves the push API and /ready on the config's
                             server.http_listen_port (3100), keeping every entry received, one
                             JSON object a line, in <common.path_prefix>/received.jsonl (/loki:
                             the loki-data volume), read back at start as Loki reads its store
    loki -health             exits 0 when /ready answers 200 on 127.0.0.1:3100 (the compose
                             health check), 1 otherwise
"""

import json
import sys
import threading
import urllib.request
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml
from loki_receiver import LokiReceiver, PushedEntry

DEFAULT_PORT = 3100
RECEIVED = "received.jsonl"


def health(port: int = DEFAULT_PORT) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"not ready: {error}", file=sys.stderr)
        return 1


def serve(config_path: Path) -> None:
    config: dict[str, Any] = yaml.safe_load(config_path.read_text()) or {}
    port = int(config.get("server", {}).get("http_listen_port", DEFAULT_PORT))
    store = Path(config.get("common", {}).get("path_prefix", "/loki")) / RECEIVED
    store.parent.mkdir(parents=True, exist_ok=True)
    kept = len(store.read_text().splitlines()) if store.exists() else 0

    def keep(entries: list[PushedEntry]) -> None:
        with store.open("a") as out:
            for entry in entries:
                out.write(json.dumps(asdict(entry)) + "\n")

    LokiReceiver(port, host="0.0.0.0", on_push=keep).start()
    print(f"loki stand-in: push API on :{port}, {kept} entries kept in {store}", flush=True)
    threading.Event().wait()


def main(argv: list[str]) -> int:
    if "-health" in argv:
        return health()
    for argument in argv:
        if argument.startswith("-config.file="):
            serve(Path(argument.removeprefix("-config.file=")))
    print("usage: loki -config.file=PATH | loki -health", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
