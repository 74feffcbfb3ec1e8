# shellcheck shell=bash
# Make .venv hold exactly what uv.lock pins, every download hash-checked, and do nothing when it already does.
#   bash scripts/_venv.sh [EXTRA ...]      e.g. `bash scripts/_venv.sh dev`; sourcing it works too.
# Extras installed by an earlier run are kept (./scripts/demo after ./scripts/test keeps the dev tools). uv does the
# install (scripts/_uv.sh bootstraps it).
set -euo pipefail
_setup_started=$EPOCHREALTIME
# shellcheck source=scripts/_uv.sh
source "$(dirname "${BASH_SOURCE[0]}")/_uv.sh"
STAMP="$VENV/.btcbot-lock"

# The stamp: a digest of everything that decides what gets installed, and the extras installed.
_setup_key="$(cat "$ROOT/uv.lock" "$ROOT/pyproject.toml" "$ROOT/requirements/uv.txt" | sha256sum | cut -c1-16)"
_setup_had_key="" _setup_had_extras=""
if [ -f "$STAMP" ]; then read -r _setup_had_key _setup_had_extras < "$STAMP" || true; fi
# shellcheck disable=SC2086 # the recorded extras are a comma list, split on purpose
_setup_extras="$(printf '%s\n' "$@" ${_setup_had_extras//,/ } | sed '/^$/d' | sort -u | paste -sd, -)"
_setup_what="${_setup_extras:+extras: $_setup_extras}"
_setup_what="${_setup_what:-runtime only}"

if [ "$_setup_key" = "$_setup_had_key" ] && [ "$_setup_extras" = "$_setup_had_extras" ]; then
  _setup_say ".venv already matches uv.lock ($_setup_what); nothing to install"
  # shellcheck disable=SC2317 # return when sourced, exit when run
  return 0 2>/dev/null || exit 0
fi

# The build group holds hatchling, so btcbot's editable install is built by the locked backend (no fresh resolve).
_setup_sync=("$UV" sync --locked --no-build-isolation-package btcbot --group build)
# shellcheck disable=SC2086
for _setup_e in ${_setup_extras//,/ }; do _setup_sync+=(--extra "$_setup_e"); done
export UV_PROJECT_ENVIRONMENT="$VENV" UV_PYTHON_DOWNLOADS=never
if ! _setup_plan="$(cd "$ROOT" && "${_setup_sync[@]}" --dry-run 2>&1)"; then
  printf '%s\n' "$_setup_plan" >&2
  _setup_say "uv.lock does not fit pyproject.toml (or the index is unreachable): after changing dependencies, run scripts/lock"
  exit 1
fi
_setup_count="$(grep -o 'Would install [0-9]*' <<< "$_setup_plan" | grep -o '[0-9]*' || echo 0)"
_setup_gone="$(grep -o 'Would uninstall [0-9]*' <<< "$_setup_plan" | grep -o '[0-9]*' || echo 0)"
if [ "$_setup_count" = 0 ] && [ "$_setup_gone" = 0 ]; then
  echo "$_setup_key $_setup_extras" > "$STAMP"
  _setup_say ".venv already matches uv.lock ($_setup_what); nothing to install"
  # shellcheck disable=SC2317 # return when sourced, exit when run
  return 0 2>/dev/null || exit 0
fi
_setup_note="installing $_setup_count package"
if [ "$_setup_count" != 1 ]; then _setup_note+="s"; fi
if [ "$_setup_gone" != 0 ]; then _setup_note+=", removing $_setup_gone"; fi
_setup_t=$EPOCHREALTIME
_setup_say "syncing .venv to uv.lock ($_setup_what): $_setup_note, every download hash-checked..."
# uv lists every package it adds or removes; that list goes to .venv/install.log, its progress lines to the terminal.
if ! (cd "$ROOT" && "${_setup_sync[@]}" 2>&1) | awk -v list="$VENV/install.log" \
    '/^ [-+~] / { print > list; next } { print > "/dev/stderr"; fflush("/dev/stderr") }'; then
  _setup_say "install failed (above); nothing was recorded, so the next run tries again"
  exit 1
fi
echo "$_setup_key $_setup_extras" > "$STAMP"
_setup_say "  done in $(_setup_since "$_setup_t"), whole setup $(_setup_since "$_setup_started");" \
  "the next run installs nothing until uv.lock changes (package list: .venv/install.log)"
