# Sourced by scripts/demo and scripts/test: create .venv once and (re)install only when pyproject changes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
EXTRAS="${1:-}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || { echo "btcbot needs Python >= 3.11 (found $("$PY" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2; exit 2; }
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.btcbot-installed${EXTRAS:+-$EXTRAS}"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
  # Some machines' pip config names local index folders that may be absent; pip warns once per package about
  # them. Drop exactly those lines so a first run stays readable; every other message still reaches stderr.
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip \
    > /dev/null 2> >(grep -v "^WARNING: Location 'file:" >&2)
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT${EXTRAS:+[$EXTRAS]}" \
    2> >(grep -v "^WARNING: Location 'file:" >&2)
  touch "$STAMP"
fi
