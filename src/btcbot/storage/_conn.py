"""Opening the DuckDB file with the retry that cross-process sharing needs.

DuckDB takes an OS lock on the database file: while one process has it open for writing, no other
process can open it at all (not even read-only), and a read-only holder blocks a writer. btcbot
therefore keeps every connection short (the writer holds the file only while it flushes a batch,
readers copy what they need and close) and retries the open for a bounded time on a lock conflict.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import TYPE_CHECKING

from btcbot.errors import StateStoreUnavailable

if TYPE_CHECKING:
    import duckdb

# First retry after ~2 ms, doubling to at most 50 ms: a writer's flush holds the file for ~10-30 ms.
_FIRST_BACKOFF_S = 0.002
_MAX_BACKOFF_S = 0.05


class StateStoreBusy(StateStoreUnavailable):
    """Another process kept the DB file locked for longer than the caller was willing to wait."""


def is_lock_conflict(exc: BaseException) -> bool:
    """True when the open failed only because another connection (process or config) holds the file."""
    text = str(exc)
    return (
        "Could not set lock on file" in text
        or "Conflicting lock" in text
        or "different configuration than existing connections" in text
    )


def connect_with_retry(path: Path, *, read_only: bool, timeout_s: float) -> duckdb.DuckDBPyConnection:
    """Open ``path``; retry lock conflicts until ``timeout_s``; any other failure is StateStoreUnavailable."""
    import duckdb

    deadline = time.monotonic() + max(0.0, timeout_s)
    backoff = _FIRST_BACKOFF_S
    attempts = 0
    while True:
        attempts += 1
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            if not is_lock_conflict(exc):
                raise StateStoreUnavailable(_describe_open_failure(path, exc, read_only=read_only)) from None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StateStoreBusy(
                    f"state DB {path} stayed locked by another process for {timeout_s:.1f}s "
                    f"({attempts} attempts); check for a stuck btcbot process holding it"
                ) from None
            # Jitter keeps two waiting processes from retrying in lock step.
            time.sleep(min(remaining, backoff * (0.5 + random.random())))
            backoff = min(backoff * 2, _MAX_BACKOFF_S)


def _describe_open_failure(path: Path, exc: BaseException, *, read_only: bool) -> str:
    text = str(exc)
    if read_only and "does not exist" in text:
        return f"no state DB at {path} yet; `btcbot run` (or canary) creates it"
    first_line = text.splitlines()[0] if text else exc.__class__.__name__
    return (
        f"cannot open state DB {path}: {first_line}; check STATE_DB_PATH points at a writable "
        "file on a local disk and that it is a btcbot DuckDB file"
    )
