"""Open the state DB for reading from another process than the runtime's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from btcbot.errors import StateStoreUnavailable


@contextmanager
def reader(path: Path, timeout_s: float = 5.0) -> Iterator[Any]:
    """A read-only connection; a missing file is an operator error naming the path (never an empty DB)."""
    resolved = path.expanduser()
    if not resolved.is_file():
        raise StateStoreUnavailable(
            f"state DB {resolved} not found; point STATE_DB_PATH (or --db) at the DB written by `btcbot run`"
        )
    from btcbot.storage import open_reader

    with open_reader(resolved, timeout_s=timeout_s) as con:
        yield con
