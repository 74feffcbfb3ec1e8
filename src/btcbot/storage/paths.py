"""Resolving the state DB's path: one place that turns an unresolvable path into an operator's error."""

from __future__ import annotations

import os
from pathlib import Path

from btcbot.errors import StateStoreUnavailable


def resolve_db_path(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute with symlinks followed, or StateStoreUnavailable saying what to fix.

    ``Path.resolve`` raises RuntimeError on a symlink loop (Python 3.11) and on ``~user`` without a home; both are
    configuration mistakes, never a reason for a traceback.
    """
    try:
        return Path(path).expanduser().resolve()
    except (OSError, RuntimeError) as exc:
        why = "a symlink loop" if "loop" in str(exc).lower() else exc.__class__.__name__
        raise StateStoreUnavailable(
            f"STATE_DB_PATH {os.path.abspath(path)} cannot be resolved ({why}); point it at a file in a real directory"
        ) from None
