#!/usr/bin/env bash
# Docker Compose v2 for tests/containers, once per machine: bookworm's docker-compose is 1.29,
# which rejects the compose file's top-level `name:`, so this takes the v2 CLI from Debian
# trixie's docker-compose package (a Go binary that needs only glibc >= 2.34; bookworm has 2.36).
# apt reads trixie's package list into a scratch folder, never the machine's own sources or
# state. The binary is cached outside the repo under the package's version. Prints its path
# (progress goes to stderr), so callers can do: COMPOSE="$(scripts/fetch-compose.sh)".
set -euo pipefail

mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

log() { printf '[fetch-compose] %s\n' "$*" >&2; }

# In a function, so bash reads the whole script before running any of it.
main() {
  local cache_root
  cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/logger-app"
  # Any version fetched before will do: the package list is read only on a machine without one.
  local cached
  cached="$(find "$cache_root" -maxdepth 2 -path "$cache_root/compose-*/docker-compose" -type f \
    -executable 2>/dev/null | sort -V | tail -n 1)"
  if [[ -n "$cached" ]]; then
    echo "$cached"
    exit 0
  fi

  mkdir -p "$cache_root"
  exec 9>"$cache_root/compose.lock"
  flock 9
  local work
  work="$(mktemp -d "$cache_root/compose-fetch.XXXXXX")"
  # shellcheck disable=SC2064 # expand $work now: it is local to this function
  trap "rm -rf '$work'" EXIT
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  echo "deb [signed-by=$keyring] $mirror trixie main" >"$work/trixie.list"
  local apt_options=(
    -o "Dir::Etc::SourceList=$work/trixie.list" -o "Dir::Etc::SourceParts=$work/none"
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Debug::NoLocking=1
    -o APT::Sandbox::User=root
  )
  log "reading Debian trixie's package list ($mirror)"
  apt-get "${apt_options[@]}" update -qq >&2
  (cd "$work" && apt-get "${apt_options[@]}" download -qq docker-compose >&2)
  local deb version
  deb="$(echo "$work"/docker-compose_*.deb)"
  version="$(dpkg-deb --field "$deb" Version)"
  dpkg-deb --extract "$deb" "$work/root"
  local dest_dir="$cache_root/compose-$version"
  mkdir -p "$dest_dir"
  mv "$work/root/usr/libexec/docker/cli-plugins/docker-compose" "$dest_dir/docker-compose.tmp"
  mv "$dest_dir/docker-compose.tmp" "$dest_dir/docker-compose"
  log "$("$dest_dir/docker-compose" version) (trixie's docker-compose $version)"
  echo "$dest_dir/docker-compose"
}

main "$@"
