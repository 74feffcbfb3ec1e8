"""Open the state DB for reading from another process than the runtime's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from btcbot.errors import StateStoreUnavailable


@contextmanager
def reader(path: Path, timeout_s: float = 5.0) -> Iterator[Any]:
    """A read-only connection to a btcbot state DB; anything else is an operator error naming the path."""
    resolved = path.expanduser()
    if not resolved.is_file():
        raise StateStoreUnavailable(
            f"state DB {resolved} not found; point STATE_DB_PATH (or --db) at the DB written by `btcbot run`"
        )
    from btcbot.storage import current_version, latest_version, open_reader

    with open_reader(resolved, timeout_s=timeout_s) as con:
        version = current_version(con)
        if version == 0:
            raise StateStoreUnavailable(
                f"{resolved} is a DuckDB file but not a btcbot state DB (no schema); check STATE_DB_PATH / --db"
            )
        if version > latest_version():
            raise StateStoreUnavailable(
                f"{resolved} has schema version {version}, newer than this btcbot knows ({latest_version()}); "
                "upgrade btcbot to read it"
            )
        yield con
