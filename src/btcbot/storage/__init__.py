"""The DuckDB state store: a buffering single writer, short-lived readers, numbered migrations.

Importing this package is cheap: DuckDB itself is imported only when a connection is opened.
"""

from __future__ import annotations

from btcbot.storage._conn import StateStoreBusy
from btcbot.storage._migrate import current_version, latest_version
from btcbot.storage.reader import open_reader
from btcbot.storage.store import FlushStats, StateStore, prepare_db_path

__all__ = [
    "FlushStats",
    "StateStore",
    "StateStoreBusy",
    "current_version",
    "latest_version",
    "open_reader",
    "prepare_db_path",
]
