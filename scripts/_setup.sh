# Sourced by the scripts in this folder: makes .venv with the project installed, and (when asked)
# the Prometheus binaries the integration tests and benchmarks run. Idempotent and quiet when done.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '%s\n' "$*" >&2; }

as_root_apt() {
  # apt-get install "$@" when root; otherwise one line saying what to install, and fail.
  if [ "$(id -u)" = 0 ]; then
    if [ -z "${_APT_UPDATED:-}" ]; then
      apt-get update -qq >/dev/null && _APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  else
    say "missing: run 'sudo apt-get install $*' (or run this script as root), then try again"
    return 1
  fi
}

ensure_venv() {
  local py3
  py3="$(command -v python3 || true)"
  if [ -z "$py3" ]; then as_root_apt python3 python3-venv; py3="$(command -v python3)"; fi
  "$py3" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { say "python3 >= 3.11 is needed, found $("$py3" --version)"; exit 1; }
  if [ ! -x "$PY" ]; then
    "$py3" -m venv "$VENV" 2>/dev/null || { as_root_apt python3-venv; rm -rf "$VENV"; "$py3" -m venv "$VENV"; }
  fi
  local stamp="$VENV/.installed" want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing Python packages into .venv ..."
    "$PY" -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' >&2 || true
    "$PY" -c 'import exporter, prometheus_client, psutil, bcrypt, yaml, pytest' \
      || { say "pip install failed; see the messages above"; exit 1; }
    echo "$want" > "$stamp"
  fi
}

ensure_binaries() {
  # Debian's prometheus (with promtool), prometheus-alertmanager (with amtool) and node_exporter.
  local missing=()
  command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus)
  command -v prometheus-alertmanager >/dev/null && command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
  command -v prometheus-node-exporter >/dev/null || missing+=(prometheus-node-exporter)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} ..."
  as_root_apt "${missing[@]}"
}
