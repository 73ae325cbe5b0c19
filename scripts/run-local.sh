#!/usr/bin/env bash
# `make run`: an AWS emulator (moto's server, its own process, loopback only), bootstrapped,
# then the event worker and the instrumented service on http://127.0.0.1:${PORT}, trusting the
# local token issuer (a key pair in .local-issuer/, made on first use; `logger-app token` signs
# with it). The worker and the API write their JSON lines to this one stream; each line's
# `service` (logger-app-worker or logger-app) and `logger` say which wrote it.
#
# Ctrl-C (or SIGTERM, or any of the three ending) stops all three within 3 s: the API and the
# worker first (the API sends what its outbox holds while the emulator is still up), then the
# emulator, which ends the worker's long poll in flight; a second Ctrl-C kills them at once.
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

# Job control: each child in a process group of its own, so that Ctrl-C reaches this script
# alone and the children stop in order, each with SIGTERM (uvicorn and the worker shut down
# gracefully on it).
set -m
moto_pid="" worker_pid="" api_pid="" stopping=""
# Kills the given processes if they still run after $1 seconds; the timer's pid is left in
# $timer (its own process group, so that killing the group also ends its sleep).
# shellcheck disable=SC2317,SC2086 # called from stop_all
kill_after() {
  local seconds=$1
  shift
  { sleep "$seconds" && kill -s KILL "$@" 2>/dev/null; } &
  timer=$!
}
# The whole stop takes under 3 s: the API has up to 2 s to finish its requests and send what its
# outbox holds to an emulator still up; then the emulator stops, which also ends the worker's
# long poll in flight; whatever still runs at 2.7 s is killed (a margin for the kill itself).
# shellcheck disable=SC2317,SC2086 # called from the traps; a pid not yet set vanishes
stop_all() {
  if [[ -n "$stopping" ]]; then
    kill -s KILL $moto_pid $worker_pid $api_pid 2>/dev/null || true
    return
  fi
  stopping=1
  local timer last_resort
  kill_after 2.7 $moto_pid $worker_pid $api_pid
  last_resort=$timer
  kill -s TERM $worker_pid $api_pid 2>/dev/null || true
  if [[ -n "$api_pid" ]]; then
    kill_after 2 $api_pid
    wait "$api_pid" 2>/dev/null || true
    kill -s TERM -- "-$timer" 2>/dev/null || true
  fi
  kill -s TERM $moto_pid 2>/dev/null || true
  [[ -z "$moto_pid$worker_pid" ]] || wait $moto_pid $worker_pid 2>/dev/null || true
  kill -s TERM -- "-$last_resort" 2>/dev/null || true
}
trap 'echo "Stopping (Ctrl-C again to force)" >&2; stop_all' INT TERM
trap stop_all EXIT

# The emulator's own output is kept aside and shown only when it fails to start.
moto_log=$(mktemp)
"$BIN/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$moto_log" 2>&1 &
moto_pid=$!

# Ready when moto itself answers (its /moto-api/ page), not whatever else holds the port.
emulator_up=""
for _ in $(seq 100); do
  kill -0 "$moto_pid" 2>/dev/null || break
  if "$BIN/python" -c "import urllib.request; urllib.request.urlopen('$AWS_ENDPOINT_URL/moto-api/data.json', timeout=1)" 2>/dev/null; then
    emulator_up=1
    break
  fi
  sleep 0.1
done
if [[ -z "$emulator_up" ]]; then
  cat "$moto_log" >&2
  echo "The AWS emulator did not start on 127.0.0.1:${MOTO_PORT} (is the port taken? choose another with MOTO_PORT=5001 make run)" >&2
  rm -f "$moto_log"
  exit 1
fi
rm -f "$moto_log"

# Assigned apart from the echo, so that a failed bootstrap stops the script (set -e).
if ! queue_url=$("$BIN/logger-app" bootstrap); then
  echo "Creating the tables and queues on the emulator (127.0.0.1:${MOTO_PORT}, MOTO_PORT) failed; stopping" >&2
  exit 1
fi
echo "AWS emulator on $AWS_ENDPOINT_URL; queue: $queue_url"
echo "API docs: http://127.0.0.1:${PORT}/docs   (Ctrl-C stops the API, the worker and the emulator)"
echo "Every /v1 call needs an access token from the local issuer (valid 15 minutes):"
echo "  TOKEN=\$(.venv/bin/logger-app token --scope records:read --scope records:write --scope signups:write)"
echo "  curl -s -H \"Authorization: Bearer \$TOKEN\" http://127.0.0.1:${PORT}/v1/records/<id>"
if ! (exec 3<>/dev/tcp/127.0.0.1/4317) 2>/dev/null; then
  echo "No collector on localhost:4317: telemetry is dropped (the service is unaffected)."
fi

"$BIN/logger-app" worker &
worker_pid=$!
"$BIN/logger-app" serve --host 127.0.0.1 --port "$PORT" &
api_pid=$!

# Until one of the three ends or a signal comes; the EXIT trap then stops the others.
status=0
wait -n $moto_pid $worker_pid $api_pid || status=$?
if [[ -z "$stopping" ]]; then
  echo "A process of make run ended (status $status); stopping the others" >&2
fi
exit "$status"
