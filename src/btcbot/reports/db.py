"""Open the state DB for reading from another process than the runtime's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from btcbot.errors import StateStoreUnavailable


def damaged_db_message(path: Path, exc: BaseException) -> str:
    """What to tell the operator when a DB that opened fails a query: its pages are damaged (or cut short)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return (
        f"state DB {path} is damaged and cannot be read ({text}); keep the file for the incident record, "
        "then point STATE_DB_PATH (or --db) at a new path: the next run starts a fresh DB"
    )


@contextmanager
def reader(path: Path, timeout_s: float = 5.0) -> Iterator[Any]:
    """A read-only connection to a btcbot state DB; anything else is an operator error naming the path."""
    import duckdb

    resolved = path.expanduser()
    if resolved.is_dir():
        raise StateStoreUnavailable(
            f"state DB path {resolved} is a directory, not a file; point STATE_DB_PATH (or --db) at the DB file "
            "written by `btcbot run`"
        )
    if not resolved.is_file():
        raise StateStoreUnavailable(
            f"state DB {resolved} not found; point STATE_DB_PATH (or --db) at the DB written by `btcbot run`"
        )
    from btcbot.storage import current_version, latest_version, open_reader

    with open_reader(resolved, timeout_s=timeout_s) as con:
        try:
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
        except duckdb.Error as exc:
            # The file opened, but a page read failed its checksum (or ran past a truncated end): a damaged DB.
            raise StateStoreUnavailable(damaged_db_message(resolved, exc)) from None
