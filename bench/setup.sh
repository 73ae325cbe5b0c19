#!/usr/bin/env bash
# What `make bench` needs beyond the Python packages (the `bench` extra): wrk from Debian's
# packages, and the collector binary of the telemetry tests (built once per machine, cached).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
  echo "[bench] installing wrk (Debian package)" >&2
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq wrk >/dev/null
fi

echo "[bench] collector: $(scripts/build-collector.sh)" >&2
