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
ensure_chromium() {
  [ -n "${CHROMIUM_PATH:-}" ] && return
  ensure_debian_package chromium chromium "for the browser tests"
}

# espeak-ng is the local text-to-speech stand-in when no ElevenLabs key is set.
ensure_espeak() {
  ensure_debian_package espeak-ng espeak-ng "for local speech synthesis"
}
