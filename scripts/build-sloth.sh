#!/usr/bin/env bash
# Builds Sloth (github.com/slok/sloth, Apache-2.0), the generator of alerts/logger-app.slo.rules.yaml
# from alerts/logger-app.slo.yaml, from its Go module at a pinned version, once per machine: the
# binary is cached outside the repo under a key derived from the version and the platform, so
# only the first build pays. Prints the binary's path on stdout (progress goes to stderr), so
# callers can do: SLOTH="$(scripts/build-sloth.sh)".
set -euo pipefail

version="v0.16.0" # the generated rules name it in their header (tests/alerts/test_slo_generated.py)

log() { printf '[build-sloth] %s\n' "$*" >&2; }

# In a function, so bash reads the whole script before running any of it: editing the file
# while a build runs cannot break that build.
main() {
  if ! command -v go >/dev/null 2>&1; then
    log "ERROR: Go is not installed (Sloth $version needs Go >= 1.26 on PATH)."
    exit 1
  fi

  cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/logger-app"
  key="$version-$(go env GOOS)-$(go env GOARCH)"
  dest_dir="$cache_root/sloth-$key"
  binary="$dest_dir/sloth"

  if [[ -x "$binary" ]]; then
    echo "$binary"
    exit 0
  fi

  mkdir -p "$cache_root"
  # Several test runs or helpers may ask at once: one builds, the others wait for its result.
  exec 9>"$cache_root/sloth-$key.lock"
  if ! flock -n 9; then
    log "another build of Sloth $version is running; waiting for it"
    flock 9
  fi
  if [[ -x "$binary" ]]; then
    echo "$binary"
    exit 0
  fi

  work="$(mktemp -d "$cache_root/build-sloth-$key.XXXXXX")"
  trap 'rm -rf "$work"' EXIT

  # `go install module@version` builds the module as released, with its own go.sum; the
  # version is stamped the way Sloth's release build does, else it reports "dev".
  build() {
    GOBIN="$work/bin" GOFLAGS=-modcacherw go install -trimpath \
      -ldflags "-s -w -X github.com/slok/sloth/internal/info.Version=$version" \
      "github.com/slok/sloth/cmd/sloth@$version"
  }

  log "building Sloth $version from its Go module (first build on a machine: a few minutes)"
  start=$SECONDS
  # Some module mirrors serve the modules but answer 404 to sum.golang.org lookups: retry once
  # without the checksum database (the modules still come from GOPROXY over TLS). A GOSUMDB
  # chosen by the caller is left alone.
  if ! build 2> >(tee "$work/go.log" >&2); then
    if [[ -z "${GOSUMDB:-}" ]] && grep -q 'sumdb/sum.golang.org/lookup' "$work/go.log"; then
      log "WARNING: checksum database lookups failed; retrying with GOSUMDB=off"
      GOSUMDB=off build >&2
    else
      log "ERROR: the Sloth build failed (see above)"
      exit 1
    fi
  fi

  mkdir -p "$dest_dir"
  mv "$work/bin/sloth" "$binary.tmp"
  mv "$binary.tmp" "$binary"
  log "built in $((SECONDS - start))s: $binary"
  echo "$binary"
}

main "$@"
