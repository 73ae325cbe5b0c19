#!/usr/bin/env bash
# Installs the command-line tools that tests/deploy runs, each only when missing:
#   actionlint  (Go module, pinned below) - lints .github/workflows
#   ShellCheck  (Debian/Ubuntu package shellcheck) - actionlint runs it on run: scripts
#   promtool    (Debian/Ubuntu package prometheus) - checks compose/prometheus.yml and the rules
#   amtool      (Debian/Ubuntu package prometheus-alertmanager) - checks alerts/alertmanager.yml
# Needs Go on PATH, and root or sudo for apt-get. actionlint lands in $(go env GOPATH)/bin,
# where the tests look for it when it is not on PATH.
set -euo pipefail

ACTIONLINT_VERSION="v1.7.12"

log() { printf '[install-deploy-tools] %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  log "ERROR: Go is not installed; actionlint is installed with 'go install'."
  exit 1
fi
gobin="$(go env GOPATH)/bin"
actionlint="$(command -v actionlint || echo "$gobin/actionlint")"
if [[ ! -x "$actionlint" ]] || [[ "$("$actionlint" -version | head -n 1)" != "$ACTIONLINT_VERSION" ]]; then
  log "installing actionlint $ACTIONLINT_VERSION into $gobin"
  go install "github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}"
fi

packages=()
command -v promtool >/dev/null 2>&1 || packages+=(prometheus)
command -v amtool >/dev/null 2>&1 || packages+=(prometheus-alertmanager)
command -v shellcheck >/dev/null 2>&1 || packages+=(shellcheck)
if ((${#packages[@]})); then
  sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    sudo=(sudo)
  fi
  log "installing ${packages[*]} with apt-get"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
fi
