# shellcheck shell=bash
# Sourced by scripts/_venv.sh and scripts/lock: create .venv if missing and put the pinned uv in it, installed with
# pip from requirements/uv.txt (hash-checked), once per change of that file. Sets UV to uv's path.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
BOOT="$VENV/uv-bootstrap"
PY="${PYTHON:-python3}"

_setup_say() { printf 'setup: %s\n' "$*" >&2; }
_setup_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }'; }

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || { echo "btcbot needs Python >= 3.11 (found $("$PY" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2; exit 2; }
  _setup_t=$EPOCHREALTIME
  "$PY" -m venv --without-pip "$VENV"
  _setup_say "created .venv ($("$VENV/bin/python" --version)) in $(_setup_since "$_setup_t")"
fi

_setup_uv_key="$(sha256sum < "$ROOT/requirements/uv.txt" | cut -c1-16)"
if [ "$(cat "$BOOT/.key" 2>/dev/null)" != "$_setup_uv_key" ]; then
  _setup_t=$EPOCHREALTIME
  _setup_say "installing the installer, $(grep -o '^uv==[^ ;]*' "$ROOT/requirements/uv.txt"), with pip (hash-checked)..."
  rm -rf "$BOOT"
  # Some machines' pip config names local index folders that may be absent, and pip warns once per package about
  # them: drop exactly those lines, every other message still reaches stderr.
  "$PY" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --require-hashes \
    --target "$BOOT" -r "$ROOT/requirements/uv.txt" 2>&1 >/dev/null | { grep -v "^WARNING: Location 'file:" >&2 || true; }
  echo "$_setup_uv_key" > "$BOOT/.key"
  _setup_say "  done in $(_setup_since "$_setup_t")"
fi

# shellcheck disable=SC2034 # read by the scripts that source this one
UV="$BOOT/bin/uv"
