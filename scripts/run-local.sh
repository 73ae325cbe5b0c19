#!/usr/bin/env bash
# `make run`: an AWS emulator (moto's server, its own process, loopback only), bootstrapped,
# then the instrumented service on http://127.0.0.1:${PORT}, trusting the local token issuer
# (a key pair in .local-issuer/, made on first use; `logger-app token` signs with it).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${PORT:-8000}
MOTO_PORT=${MOTO_PORT:-5000}

export AWS_ENDPOINT_URL="http://127.0.0.1:${MOTO_PORT}"
export AWS_REGION=${AWS_REGION:-us-east-1}
# The emulator accepts any credentials; these never reach AWS.
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-local}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-local}
# Local development only: never set on ECS (infra/tests checks the task definitions).
export LOGGER_APP_LOCAL_ISSUER_DIR=${LOGGER_APP_LOCAL_ISSUER_DIR:-.local-issuer}

"$BIN/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >/dev/null 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 100); do
  if "$BIN/python" -c "import urllib.request; urllib.request.urlopen('$AWS_ENDPOINT_URL/moto-api/')" 2>/dev/null; then
    break
  fi
  sleep 0.1
done

echo "AWS emulator on $AWS_ENDPOINT_URL; queue: $("$BIN/logger-app" bootstrap)"
echo "API docs: http://127.0.0.1:${PORT}/docs   (Ctrl-C stops both)"
echo "Every /v1 call needs an access token from the local issuer (valid 15 minutes):"
echo "  TOKEN=\$(.venv/bin/logger-app token --scope records:read --scope records:write --scope signups:write)"
echo "  curl -s -H \"Authorization: Bearer \$TOKEN\" http://127.0.0.1:${PORT}/v1/records/<id>"
if ! (exec 3<>/dev/tcp/127.0.0.1/4317) 2>/dev/null; then
  echo "No collector on localhost:4317: telemetry is dropped (the service is unaffected)."
fi
"$BIN/logger-app" serve --host 127.0.0.1 --port "$PORT"
