# Make .venv hold exactly what uv.lock pins (hash-checked), and do nothing when it already does.
#   bash scripts/_venv.sh [EXTRA ...]      e.g. `bash scripts/_venv.sh dev`; also works when sourced.
# Extras installed by an earlier run are kept (./scripts/demo after ./scripts/test keeps the dev tools). Each step
# says what it does and how long it took; the lock's own hashes are checked on every download by uv, which is
# bootstrapped with pip from requirements/uv.txt (itself hash-pinned).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
BOOT="$VENV/uv-bootstrap"
STAMP="$VENV/.btcbot-lock"
PY="${PYTHON:-python3}"

_setup_say() { printf 'setup: %s\n' "$*" >&2; }
_setup_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }'; }
# Some machines' pip config names local index folders that may be absent; pip warns once per package about them.
# Drop exactly those lines; every other message still reaches stderr.
_setup_pip_filter() { grep -v "^WARNING: Location 'file:" >&2 || true; }

_setup_started=$EPOCHREALTIME
# The stamp key: everything that decides what gets installed.
_setup_key="$(cat "$ROOT/uv.lock" "$ROOT/pyproject.toml" "$ROOT/requirements/uv.txt" | sha256sum | cut -c1-16)"
_setup_had_key="" _setup_had_extras=""
if [ -f "$STAMP" ]; then read -r _setup_had_key _setup_had_extras < "$STAMP" || true; fi
_setup_extras="$(printf '%s\n' "$@" ${_setup_had_extras//,/ } | sed '/^$/d' | sort -u | paste -sd, -)"

if [ -x "$VENV/bin/python" ] && [ "$_setup_key" = "$_setup_had_key" ] && [ "$_setup_extras" = "$_setup_had_extras" ]; then
  _setup_say ".venv already matches uv.lock (${_setup_extras:-runtime only}); nothing to install"
  return 0 2>/dev/null || exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || { echo "btcbot needs Python >= 3.11 (found $("$PY" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2; exit 2; }
  _setup_t=$EPOCHREALTIME
  "$PY" -m venv --without-pip "$VENV"
  _setup_say "created .venv with $("$VENV/bin/python" --version) in $(_setup_since "$_setup_t")"
fi

_setup_uv_key="$(sha256sum < "$ROOT/requirements/uv.txt" | cut -c1-16)"
if [ "$(cat "$BOOT/.key" 2>/dev/null)" != "$_setup_uv_key" ]; then
  _setup_t=$EPOCHREALTIME
  _setup_say "installing the installer: $(grep -o '^uv==[^ ;]*' "$ROOT/requirements/uv.txt") with pip (hash-checked, requirements/uv.txt)..."
  rm -rf "$BOOT"
  "$PY" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --require-hashes \
    --target "$BOOT" -r "$ROOT/requirements/uv.txt" 2> >(_setup_pip_filter)
  echo "$_setup_uv_key" > "$BOOT/.key"
  _setup_say "  done in $(_setup_since "$_setup_t")"
fi

# The build group holds hatchling: btcbot's editable install is built with the locked backend, not a fresh one.
_setup_select=(--group build)
for _setup_e in ${_setup_extras//,/ }; do _setup_select+=(--extra "$_setup_e"); done
_setup_count="$(cd "$ROOT" && "$BOOT/bin/uv" export --frozen --no-hashes --no-emit-project --no-header \
  --no-annotate "${_setup_select[@]}" 2>/dev/null | grep -c '==' || true)"
_setup_t=$EPOCHREALTIME
_setup_say "installing ${_setup_count} locked packages + btcbot (editable) into .venv from uv.lock" \
  "(${_setup_extras:-runtime only}; every download hash-checked)..."
if ! (cd "$ROOT" && UV_PROJECT_ENVIRONMENT="$VENV" UV_PYTHON_DOWNLOADS=never "$BOOT/bin/uv" sync --locked \
  --no-build-isolation-package btcbot "${_setup_select[@]}"); then
  _setup_say "install failed. If pyproject.toml's dependencies changed, refresh the lock with scripts/lock."
  exit 1
fi
echo "$_setup_key $_setup_extras" > "$STAMP"
_setup_say "  done in $(_setup_since "$_setup_t") (whole setup $(_setup_since "$_setup_started")); the next run skips this until uv.lock changes"
