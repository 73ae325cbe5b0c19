#!/usr/bin/env bash
# Builds the test OpenTelemetry Collector from collector/builder-config.yaml with the official
# builder (ocb), once per machine: the binary is cached outside the repo under a key derived from
# the manifest, so only the first build pays. Prints the binary's path on stdout (progress goes to
# stderr), so callers can do: OTELCOL="$(scripts/build-collector.sh)".
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
manifest="$repo_root/collector/builder-config.yaml"
ocb_version="v0.139.0" # must match the collector versions pinned in the manifest

log() { printf '[build-collector] %s\n' "$*" >&2; }

# In a function, so bash reads the whole script before running any of it: editing the file
# while a build runs cannot break that build.
main() {
  if ! command -v go >/dev/null 2>&1; then
    log "ERROR: Go is not installed (the build needs Go >= 1.24 on PATH)."
    exit 1
  fi

  cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/logger-app"
  # Comments do not change the binary, so they do not change the key.
  key="$( (grep -v '^[[:space:]]*#' "$manifest"; echo "$ocb_version"; go env GOOS GOARCH) |
    sha256sum | cut -c1-16)"
  dest_dir="$cache_root/otelcol-$key"
  binary="$dest_dir/otelcol"

  if [[ -x "$binary" ]]; then
    echo "$binary"
    exit 0
  fi

  mkdir -p "$cache_root"
  # Several test runs or helpers may ask at once: one builds, the others wait for its result.
  exec 9>"$cache_root/otelcol-$key.lock"
  if ! flock -n 9; then
    log "another build of this collector is running; waiting for it"
    flock 9
  fi
  if [[ -x "$binary" ]]; then
    echo "$binary"
    exit 0
  fi

  work="$(mktemp -d "$cache_root/build-$key.XXXXXX")"
  heartbeat_pid=""
  stop_heartbeat() {
    if [[ -n "$heartbeat_pid" ]]; then
      kill "$heartbeat_pid" 2>/dev/null || true
      wait "$heartbeat_pid" 2>/dev/null || true
      heartbeat_pid=""
    fi
  }
  cleanup() {
    stop_heartbeat
    rm -rf "$work"
  }
  trap cleanup EXIT

  # Runs a Go command, retrying once with GOSUMDB=off when only the checksum database failed: some
  # module mirrors serve the modules but answer 404 to sum.golang.org lookups. The modules still come
  # from GOPROXY over TLS. A GOSUMDB chosen by the caller is left alone.
  with_sumdb_fallback() {
    if "$@" 2>&1 | tee "$work/go.log" >&2; then
      return 0
    fi
    if [[ -z "${GOSUMDB:-}" ]] && grep -q 'sumdb/sum.golang.org/lookup' "$work/go.log"; then
      log "WARNING: checksum database lookups failed; retrying with GOSUMDB=off"
      rm -rf "$work/src"
      GOSUMDB=off "$@" >&2
    else
      return 1
    fi
  }

  ocb="$cache_root/ocb-$ocb_version/builder"
  if [[ ! -x "$ocb" ]]; then
    log "installing the collector builder (ocb) $ocb_version"
    GOBIN="$cache_root/ocb-$ocb_version" with_sumdb_fallback \
      go install "go.opentelemetry.io/collector/cmd/builder@$ocb_version"
  fi

  # ocb takes the output folder from the manifest; point it at the scratch folder.
  sed "s|^dist:|dist:\n  output_path: $work/src|" "$manifest" >"$work/builder-config.yaml"

  log "building the collector from $manifest (first build on a machine: about 5 min on 2 cores)"
  start=$SECONDS
  (
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    while :; do
      sleep 30 &
      sleeper=$!
      wait "$sleeper"
      log "still building... $((SECONDS - start))s elapsed"
    done
  ) 9>&- &
  heartbeat_pid=$!

  if ! with_sumdb_fallback "$ocb" --config "$work/builder-config.yaml"; then
    log "ERROR: the collector build failed (see above)"
    exit 1
  fi

  stop_heartbeat
  mkdir -p "$dest_dir"
  mv "$work/src/otelcol" "$binary.tmp"
  mv "$binary.tmp" "$binary"
  log "built in $((SECONDS - start))s: $binary"
  echo "$binary"
}

main "$@"
