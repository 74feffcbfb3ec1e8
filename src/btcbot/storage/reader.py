"""Read-only access to the state DB from any process, retried while a writer flushes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from btcbot.errors import StateStoreUnavailable
from btcbot.storage._conn import connect_with_retry
from btcbot.storage.paths import resolve_db_path

if TYPE_CHECKING:
    import duckdb


@contextmanager
def open_reader(path: str | os.PathLike[str], timeout_s: float = 5.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a read-only connection. Copy what you need and leave the block quickly: while it is open,
    the runtime's writer cannot flush (it retries and keeps its rows buffered meanwhile)."""
    resolved = resolve_db_path(path)
    if not resolved.is_file():
        raise StateStoreUnavailable(f"no state DB at {resolved} yet; `btcbot run` (or canary) creates it")
    con = connect_with_retry(resolved, read_only=True, timeout_s=timeout_s)
    try:
        yield con
    finally:
        con.close()
