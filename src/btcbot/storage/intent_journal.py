"""The write-ahead journal for order intents: durable before a submit leaves, without a DuckDB flush.

A submit must never leave the process before its INTENT record is durable, or a crash mid-submit could
lose track of an order. Flushing DuckDB for that costs 20-60 ms (open, append, checkpoint, close: the
writer may hold the file only briefly so other processes can read it), which would dominate the latency
from a book update to the order leaving. Instead the INTENT row is appended to this journal with one
``os.write`` on an ``O_APPEND`` descriptor — microseconds — and reaches the DB with the next ordinary
flush. The page cache keeps the line through a SIGKILL of the process; only a power loss before the
kernel writes it back can lose it, and then start-up reconciliation still adopts the venue's order as an
orphan (its client id carries this bot's prefix), so it is never duplicated or forgotten.

The store folds journal lines into ``orders`` when it first opens the DB (rows already there are newer
and win) and truncates the journal once a flush has made every journaled row durable in the DB.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def journal_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".intents.jsonl")


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$decimal" in value:
            return Decimal(value["$decimal"])
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
    return value


class IntentJournal:
    """Append-only JSON lines, one order row per line. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fd: int | None = None
        self.appended = 0  # lines appended by this process (the store compares it across a flush)

    def append(self, row: Mapping[str, Any]) -> None:
        line = json.dumps({k: _encode(v) for k, v in row.items()}, separators=(",", ":")) + "\n"
        data = line.encode()
        with self._lock:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(f"short write to the intent journal {self.path}")
            self.appended += 1

    def read(self) -> list[dict[str, Any]]:
        """Every complete row in the journal; a torn last line (a crash mid-write) is skipped with a warning."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        rows: list[dict[str, Any]] = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError:
                log.warning("intent journal %s: skipping unreadable line %d (torn write?)", self.path, n)
                continue
            if isinstance(raw, dict) and isinstance(raw.get("client_order_id"), str):
                rows.append({k: _decode(v) for k, v in raw.items()})
        return rows

    def truncate_if_count(self, expected: int) -> bool:
        """Empty the journal iff exactly ``expected`` lines were appended since the last truncation.

        Check and truncate happen under one lock, so a line appended concurrently is never erased.
        """
        with self._lock:
            if self.appended != expected:
                return False
            if self._fd is not None:
                os.ftruncate(self._fd, 0)
            elif self.path.exists():
                os.truncate(self.path, 0)
            self.appended = 0
            return True

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
