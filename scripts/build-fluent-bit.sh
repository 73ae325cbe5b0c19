#!/usr/bin/env bash
# Builds Fluent Bit (the log router's engine: AWS for Fluent Bit 3.4.x is built on v5.0.9) from
# source, once per machine, for the log-path tests (tests/logs): the binary is cached outside the
# repo under a key derived from the source's checksum and the build options, so only the first
# build pays (about a minute on 2 cores). Prints the binary's path on stdout (progress goes to
# stderr), so callers can do: FLUENT_BIT="$(scripts/build-fluent-bit.sh)".
#
# The source: FLUENT_BIT_SOURCE names a source archive (.tar.xz/.tar.gz) or an unpacked tree of
# the upstream v5.0.9 release (github.com/fluent/fluent-bit, tag v5.0.9). Unset, it is the pruned
# archive shared beside this checkout, ../shared/vendor/fluent-bit-5.0.9-src.tar.xz, whose
# checksum is verified below.
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
version="5.0.9"
vendor_archive="$repo_root/../shared/vendor/fluent-bit-$version-src.tar.xz"
vendor_sha256="461f850a8ca75e67dbf63934438ffc338e16155ff06cf2c42bc6dde2653a1b63"

# Debian packages the build needs (flex and bison: record accessors such as `$level`).
build_packages=(cmake flex bison libyaml-dev libssl-dev pkg-config build-essential libsqlite3-dev)

# The plugins the log router uses or the tests drive; everything else is off.
cmake_options=(
  -DFLB_MINIMAL=On -DFLB_RELEASE=Off -DFLB_DEBUG=On
  -DFLB_IN_FORWARD=On -DFLB_IN_EMITTER=On -DFLB_IN_DUMMY=On -DFLB_IN_STORAGE_BACKLOG=On -DFLB_IN_TCP=On
  -DFLB_IN_TAIL=On -DFLB_IN_HTTP=On -DFLB_IN_FLUENTBIT_METRICS=On
  -DFLB_FILTER_REWRITE_TAG=On -DFLB_FILTER_PARSER=On -DFLB_FILTER_RECORD_MODIFIER=On
  -DFLB_FILTER_MODIFY=On -DFLB_FILTER_GREP=On -DFLB_FILTER_NEST=On -DFLB_FILTER_THROTTLE=On
  -DFLB_OUT_LOKI=On -DFLB_OUT_STDOUT=On -DFLB_OUT_FORWARD=On -DFLB_OUT_NULL=On -DFLB_OUT_FILE=On
  -DFLB_OUT_HTTP=On -DFLB_OUT_CLOUDWATCH_LOGS=On -DFLB_OUT_PROMETHEUS_EXPORTER=On
  -DFLB_HTTP_SERVER=On -DFLB_AWS=On -DFLB_SIGNV4=On
  -DFLB_SQLDB=On -DFLB_PREFER_SYSTEM_LIB_SQLITE=On -DFLB_LUAJIT=Off -DFLB_WASM=Off -DFLB_KAFKA=Off
  -DFLB_ZIG=Off -DFLB_RIPSER=Off -DFLB_PROXY_GO=Off -DFLB_CUSTOM_CALYPTIA=Off -DFLB_EXAMPLES=Off
  -DFLB_SHARED_LIB=Off -DFLB_BACKTRACE=Off -DFLB_STREAM_PROCESSOR=Off -DFLB_AVRO_ENCODER=Off
  -DFLB_UNICODE_ENCODER=Off -DFLB_USE_SIMDUTF=No -DFLB_USE_RIPSER=No -DFLB_CHUNK_TRACE=Off
  -DFLB_PROFILES=Off
)

log() { printf '[build-fluent-bit] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# A key for the source: the archive's checksum, or for a tree the checksum of its files.
source_key() {
  local source="$1"
  if [[ -d "$source" ]]; then
    (cd "$source" && find . -type f ! -path './build/*' -print0 | LC_ALL=C sort -z |
      xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
  else
    sha256sum "$source" | cut -d' ' -f1
  fi
}

install_build_packages() {
  local missing=()
  for package in "${build_packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "missing build packages: ${missing[*]} (apt-get install them)"
    sudo=(sudo)
  fi
  log "installing ${missing[*]} with apt-get"
  "${sudo[@]}" apt-get update -qq >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# In a function, so bash reads the whole script before running any of it.
main() {
  local source="${FLUENT_BIT_SOURCE:-$vendor_archive}"
  if [[ ! -e "$source" ]]; then
    if [[ -n "${FLUENT_BIT_SOURCE:-}" ]]; then
      die "FLUENT_BIT_SOURCE=$source does not exist."
    fi
    die "no Fluent Bit source. The log-path tests build Fluent Bit v$version from source:
  set FLUENT_BIT_SOURCE to the upstream v$version source, either an archive (.tar.xz or .tar.gz of
  github.com/fluent/fluent-bit at tag v$version) or an unpacked tree of it; or place the pruned
  archive at $vendor_archive (sha256 $vendor_sha256)."
  fi
  source="$(cd "$(dirname "$source")" && pwd)/$(basename "$source")"

  local checksum
  checksum="$(source_key "$source")"
  if [[ "$source" == "$vendor_archive" && "$checksum" != "$vendor_sha256" ]]; then
    die "$source has sha256 $checksum, expected $vendor_sha256: a damaged or different archive."
  fi

  local cache_root key dest_dir binary
  cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/logger-app"
  key="$( (echo "$checksum"; printf '%s\n' "${cmake_options[@]}"; uname -m) | sha256sum | cut -c1-16)"
  dest_dir="$cache_root/fluent-bit-$key"
  binary="$dest_dir/fluent-bit"
  if [[ -x "$binary" ]]; then
    echo "$binary"
    exit 0
  fi

  mkdir -p "$cache_root"
  # Several test runs may ask at once: one builds, the others wait for its result.
  exec 9>"$cache_root/fluent-bit-$key.lock"
  if ! flock -n 9; then
    log "another build of this Fluent Bit is running; waiting for it"
    flock 9
  fi
  if [[ -x "$binary" ]]; then
    echo "$binary"
    exit 0
  fi

  install_build_packages
  local work
  work="$(mktemp -d "$cache_root/fluent-bit-build-$key.XXXXXX")"
  # shellcheck disable=SC2064 # expand $work now: it is local to this function
  trap "rm -rf '$work'" EXIT

  local tree="$source"
  if [[ -f "$source" ]]; then
    log "unpacking $source"
    mkdir "$work/src"
    tar -xf "$source" -C "$work/src" --strip-components=1
    tree="$work/src"
  fi
  [[ -f "$tree/CMakeLists.txt" ]] || die "$tree is not a Fluent Bit source tree (no CMakeLists.txt)."

  log "building Fluent Bit from $source (about a minute on 2 cores)"
  local start=$SECONDS
  cmake -S "$tree" -B "$work/build" "${cmake_options[@]}" >"$work/cmake.log" 2>&1 ||
    { tail -n 40 "$work/cmake.log" >&2; die "cmake failed (log above)"; }
  make -C "$work/build" -j"$(nproc)" >"$work/make.log" 2>&1 ||
    { tail -n 60 "$work/make.log" >&2; die "the build failed (log above)"; }

  mkdir -p "$dest_dir"
  cp "$work/build/bin/fluent-bit" "$binary.tmp"
  mv "$binary.tmp" "$binary"
  log "built in $((SECONDS - start))s: $binary"
  echo "$binary"
}

main "$@"
