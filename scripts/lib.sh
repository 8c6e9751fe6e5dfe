# Shared by scripts/run and scripts/test: a project-local virtualenv kept in step with
# the pinned requirements.

VENV=.venv

ensure_venv() {
  local requirements=$1
  local python=${PYTHON:-python3}
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Call Me Back needs Python 3.11 or newer (found $("$python" --version 2>&1))." >&2
    exit 1
  fi
  [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV"
  local stamp="$VENV/.installed-$(basename "$requirements")"
  local digest
  digest=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    echo "Installing Python packages from $requirements ..."
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$digest" > "$stamp"
  fi
}

# Installs a Debian package unless its command is already on the PATH.
ensure_debian_package() {
  local command=$1 package=$2 purpose=$3
  command -v "$command" >/dev/null 2>&1 && return
  echo "Installing Debian's $package $purpose ..."
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$package" >/dev/null
}

# Debian's chromium drives the browser tests (Playwright cannot download its own here).
# Creates DATABASE_URL's PostgreSQL database when it is missing, so a fresh server works
# (the connection pool would otherwise wait out its timeout on every start).
ensure_database() {
  case "${DATABASE_URL:-}" in postgres://* | postgresql://*) ;; *) return 0 ;; esac
  "$VENV/bin/python" - <<'PY'
import os

import environ
import psycopg
from psycopg import sql

config = environ.Env.db_url_config(os.environ["DATABASE_URL"])
server = {
    "dbname": "postgres",
    "user": config.get("USER") or None,
    "password": config.get("PASSWORD") or None,
    "host": config.get("HOST") or None,
    "port": config.get("PORT") or None,
}
with psycopg.connect(**server, autocommit=True) as connection:
    if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone():
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
        print(f"Created the database {config['NAME']}.")
PY
}

ensure_chromium() {
  [ -n "${CHROMIUM_PATH:-}" ] && return
  ensure_debian_package chromium chromium "for the browser tests"
}

# espeak-ng is the local text-to-speech stand-in when no ElevenLabs key is set.
ensure_espeak() {
  ensure_debian_package espeak-ng espeak-ng "for local speech synthesis"
}

# What a developer's machine needs and a deploy must set itself: DEBUG on, and secrets
# generated once per checkout and kept in var/ (never in the repository). Values already
# in the environment win.
use_local_development_settings() {
  export DEBUG=${DEBUG:-true}
  export SECRET_KEY=${SECRET_KEY:-$(local_secret secret-key)}
  if [ -z "${STRIPE_SECRET_KEY:-}" ]; then
    # localstripe signs its webhooks with it (see billing/conf.py).
    export STRIPE_WEBHOOK_SECRET=${STRIPE_WEBHOOK_SECRET:-whsec_$(local_secret stripe-webhook-secret)}
  fi
}

# A random value kept in var/<name>, created on first use, readable only by its owner.
local_secret() {
  local file="var/$1"
  mkdir -p var
  if [ ! -s "$file" ]; then
    (umask 077 && "${PYTHON:-python3}" -c 'import secrets; print(secrets.token_urlsafe(48))' > "$file")
  fi
  cat "$file"
}

# --- Running several services from one script (scripts/run) ------------------------------

declare -A SERVICE_PIDS=() SERVICE_COMMANDS=() SERVICE_STARTED_AT=() SERVICE_RESTART_DELAY=()
BACKOFF_PID=""

# start_service NAME COMMAND...: runs COMMAND in the background, in its own process group,
# so a Ctrl-C at the terminal reaches only this script, which then stops each service once.
# The command is kept so wait_for_services can start it again if it dies.
start_service() {
  local name=$1
  shift
  SERVICE_COMMANDS[$name]=$(printf '%q ' "$@")
  SERVICE_RESTART_DELAY[$name]=1
  launch_service "$name"
}

launch_service() {
  local name=$1
  eval "setsid ${SERVICE_COMMANDS[$name]} &"
  SERVICE_PIDS[$name]=$!
  SERVICE_STARTED_AT[$name]=$SECONDS
}

# Ctrl-C or SIGTERM stops every service and ends the script with status 0; any other exit
# stops them too.
stop_services_on_exit() {
  trap 'stop_services; exit 0' INT TERM
  trap 'stop_services' EXIT
}

# Supervises the services until a signal ends the script: a service that stops on its own
# (a crash, the OOM killer, kill -9) is started again after a backoff, so a dead worker
# costs seconds, not the pending captures. The delay doubles on each quick death (1 s, 2 s,
# 4 s ... up to RESTART_MAX_DELAY) and goes back to 1 s once a service has run for
# RESTART_RESET_AFTER seconds. A signal interrupts the waits and runs its trap instead.
wait_for_services() {
  local status pid name delay ran
  while true; do
    status=0
    pid=""
    wait -n -p pid "${SERVICE_PIDS[@]}" || status=$?
    for name in "${!SERVICE_PIDS[@]}"; do
      [ "${SERVICE_PIDS[$name]}" = "$pid" ] && break
    done
    [ -n "$pid" ] && [ "${SERVICE_PIDS[$name]:-}" = "$pid" ] || continue
    unset "SERVICE_PIDS[$name]"
    # What the dead service left in its process group (a prefork worker's children).
    kill -KILL -- "-$pid" 2>/dev/null || true
    ran=$((SECONDS - SERVICE_STARTED_AT[$name]))
    if [ "$ran" -ge "${RESTART_RESET_AFTER:-60}" ]; then
      SERVICE_RESTART_DELAY[$name]=1
    fi
    delay=${SERVICE_RESTART_DELAY[$name]}
    SERVICE_RESTART_DELAY[$name]=$((delay * 2 > ${RESTART_MAX_DELAY:-30} ? ${RESTART_MAX_DELAY:-30} : delay * 2))
    echo "$name stopped (exit status $status); restarting in $delay s" >&2
    sleep "$delay" &
    BACKOFF_PID=$!
    wait "$BACKOFF_PID" || true
    BACKOFF_PID=""
    launch_service "$name"
  done
}

# Sends SIGTERM to each running service once, waits for them to finish (SIGKILL after
# STOP_TIMEOUT seconds), and forgets them, so calling it again does nothing.
stop_services() {
  trap - INT TERM EXIT
  [ -z "$BACKOFF_PID" ] || kill "$BACKOFF_PID" 2>/dev/null || true
  [ ${#SERVICE_PIDS[@]} -gt 0 ] || return 0
  local name pid
  for name in "${!SERVICE_PIDS[@]}"; do
    kill -TERM "${SERVICE_PIDS[$name]}" 2>/dev/null || true
  done
  local deadline=$((SECONDS + ${STOP_TIMEOUT:-20}))
  for name in "${!SERVICE_PIDS[@]}"; do
    pid=${SERVICE_PIDS[$name]}
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
      wait "$pid" 2>/dev/null || true
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "$name did not stop within ${STOP_TIMEOUT:-20}s; killing it." >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  SERVICE_PIDS=()
}

# wait_until_healthy URL PID: polls URL until it answers 200 (true), or PID exits or a
# minute passes (false). The poll runs in the background so a signal is handled at once.
wait_until_healthy() {
  "${PYTHON:-python3}" - "$1" "$2" <<'PY' &
import os
import sys
import time
import urllib.request

url, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(1)
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback URL
            if response.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit(1)
PY
  wait $!
}
