#!/usr/bin/env bash
# Installs what tests/containers needs beyond the venv, each only when missing:
#   dockerd, docker  (Debian's docker.io, with containerd and runc) - the engine the tests start
#                    privately (tests/containers/engine.py); the system's docker service is
#                    never started
#   debootstrap      (Debian's package) - the Debian trixie root file system the stand-in base
#                    images are made from (no registry is reachable to pull one)
#   docker compose   (v2, from Debian trixie's package: scripts/fetch-compose.sh, cached)
# Needs root or sudo for apt-get. Prints the compose binary's path.
set -euo pipefail

log() { printf '[install-container-tools] %s\n' "$*" >&2; }

packages=()
command -v dockerd >/dev/null 2>&1 || packages+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || packages+=(debootstrap)
if ((${#packages[@]})); then
  sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || {
      log "ERROR: ${packages[*]} missing; install them: apt-get install ${packages[*]}"
      exit 1
    }
    sudo=(sudo)
  fi
  log "installing ${packages[*]} (Debian packages)"
  # The package would start the system's Docker daemon (iptables rules, a docker0 bridge); the
  # tests run their own, with neither.
  added_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${sudo[@]}" chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  trap 'if [[ -n "$added_policy" ]]; then "${sudo[@]}" rm -f /usr/sbin/policy-rc.d; fi' EXIT
  "${sudo[@]}" apt-get update -qq >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
fi
log "$(dockerd --version)"

"$(dirname "$0")/fetch-compose.sh"
