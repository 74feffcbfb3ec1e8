"""The write-ahead journal for order intents: durable before a submit leaves, without a DuckDB flush.

A submit must never leave the process before its INTENT record is durable, or a crash mid-submit could
lose track of an order. Flushing DuckDB for that costs 20-60 ms (open, append, checkpoint, close: the
writer may hold the file only briefly so other processes can read it), which would dominate the latency
from a book update to the order leaving. Instead the INTENT row is appended to a journal with one
``os.write`` on an ``O_APPEND`` descriptor — microseconds — and reaches the DB with the next ordinary
flush. The page cache keeps the line through a SIGKILL of the process; only a power loss before the
kernel writes it back can lose it, and then start-up reconciliation still adopts the venue's order as an
orphan (its client id carries this bot's prefix), so it is never duplicated or forgotten.

Each process writes its own journal file (``<db>.intents.<owner>.jsonl``) and holds an exclusive ``flock``
on it for its lifetime. Several instances may share one DB (the instance lock is per account scope), so
a shared file would let one process's truncation erase another's unflushed intent. The kernel drops the
flock when its owner dies, which is how a store tells a crashed run's journal (fold it into ``orders``,
then delete it) from a live one's (leave it alone), and how ``doctor`` tells the two apart.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def journal_path_for(db_path: Path, owner: str) -> Path:
    return db_path.with_name(f"{db_path.name}.intents.{owner}.jsonl")


def new_owner() -> str:
    """PID for the humans reading a directory listing, plus randomness so a reused PID never collides."""
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def find_journals(db_path: Path) -> list[Path]:
    return sorted(db_path.parent.glob(f"{db_path.name}.intents.*.jsonl"))


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


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every complete row in a journal; a torn last line (a crash mid-write) is skipped with a warning."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    rows: list[dict[str, Any]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError:
            log.warning("intent journal %s: skipping unreadable line %d (torn write?)", path, n)
            continue
        if isinstance(raw, dict) and isinstance(raw.get("client_order_id"), str):
            rows.append({k: _decode(v) for k, v in raw.items()})
    return rows


def owner_alive(path: Path) -> bool:
    """True while the process that writes ``path`` is alive (it holds the journal's flock)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing also drops the probe's shared lock
    return False


@contextmanager
def claim_orphan(path: Path) -> Iterator[bool]:
    """Hold ``path`` exclusively if its owner is gone; yields False (and holds nothing) if it is alive."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


class IntentJournal:
    """This process's journal: append-only JSON lines, one order row per line. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fd: int | None = None
        self.appended = 0  # lines appended since the last truncation (the store compares it across a flush)

    def append(self, row: Mapping[str, Any]) -> None:
        line = json.dumps({k: _encode(v) for k, v in row.items()}, separators=(",", ":")) + "\n"
        data = line.encode()
        with self._lock:
            if self._fd is None:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
                # Held for the process's lifetime: marks this journal as live (see module doc).
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
            written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(f"short write to the intent journal {self.path}")
            self.appended += 1

    def read(self) -> list[dict[str, Any]]:
        return read_journal(self.path)

    def truncate_if_count(self, expected: int) -> bool:
        """Empty the journal iff exactly ``expected`` lines were appended since the last truncation.

        Check and truncate happen under one lock, so a line appended concurrently is never erased.
        """
        with self._lock:
            if self.appended != expected:
                return False
            if self._fd is not None:
                os.ftruncate(self._fd, 0)
            self.appended = 0
            return True

    def close(self) -> None:
        """Release the file; a drained journal is deleted, one with unflushed lines stays for recovery."""
        with self._lock:
            if self._fd is None:
                return
            if self.appended == 0 and os.fstat(self._fd).st_size == 0:
                self.path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = None
