#!/usr/bin/env bash
# Installs what tests/collector, tests/e2e and tests/alerts need beyond the venv, idempotently:
# Prometheus from Debian's package (AMP's stand-in, with its remote-write receiver; promtool for
# the alert rules' unit tests), Alertmanager from Debian's prometheus-alertmanager (routes the
# e2e alerts; amtool), and the OpenTelemetry Collector built by scripts/build-collector.sh.
# Prints the collector's path.
set -euo pipefail

log() { printf '[ensure-e2e-tools] %s\n' "$*" >&2; }

packages=()
command -v prometheus >/dev/null 2>&1 || packages+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 ||
  packages+=(prometheus-alertmanager)
if ((${#packages[@]})); then
  if [[ "$(id -u)" -ne 0 ]]; then
    log "ERROR: ${packages[*]} missing; install Debian's packages: sudo apt-get install ${packages[*]}"
    exit 1
  fi
  log "installing ${packages[*]} (Debian packages)"
  # The packages would start daemons on :9090 and :9093; the tests start their own.
  added_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  trap 'if [[ -n "$added_policy" ]]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
fi
log "$(prometheus --version 2>&1 | head -n1)"
alertmanager="$(command -v prometheus-alertmanager || command -v alertmanager)"
log "$("$alertmanager" --version 2>&1 | head -n1)"

if ! command -v go >/dev/null 2>&1; then
  log "ERROR: Go is missing; the collector build needs Go >= 1.24 (https://go.dev/dl/)"
  exit 1
fi
"$(dirname "$0")/build-collector.sh"
