"""The state store: one writer per process that holds the DuckDB file only while it flushes a batch.

Rows are buffered in memory (thread-safe) and written by ``flush()`` in one transaction through DuckDB's
Appender (bulk; never row by row). The file is opened for the flush and closed right after, so other
processes (``doctor``, the reports) can open it between flushes. When another process holds the file, the
flush retries; if it still cannot get the file, the rows stay buffered for the next flush: nothing is lost.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from btcbot.errors import StateStoreUnavailable
from btcbot.storage._conn import connect_with_retry
from btcbot.storage._migrate import apply_migrations
from btcbot.storage.intent_journal import (
    IntentJournal,
    claim_orphan,
    find_journals,
    journal_path_for,
    new_owner,
    read_journal,
)
from btcbot.storage.paths import resolve_db_path

if TYPE_CHECKING:
    import duckdb

Row = dict[str, Any]

_ORDERS = "orders"


@dataclass(slots=True)
class FlushStats:
    """What flushing has cost so far (for metrics and the flush-cost note in docs/storage)."""

    flushes: int = 0
    rows_written: int = 0
    last_flush_ms: float = 0.0
    max_flush_ms: float = 0.0
    total_flush_ms: float = 0.0
    failed_flushes: int = 0


def prepare_db_path(path: str | os.PathLike[str]) -> Path:
    """Resolve the DB path and create its directory; an unusable location is StateStoreUnavailable."""
    resolved = resolve_db_path(path)
    try:
        resolved.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateStoreUnavailable(
            f"cannot create the directory for STATE_DB_PATH {resolved}: {exc.strerror or exc.__class__.__name__}; "
            "set STATE_DB_PATH to a path in a writable directory"
        ) from None
    if resolved.exists() and not resolved.is_file():
        raise StateStoreUnavailable(f"STATE_DB_PATH {resolved} exists but is not a file; point it at a file path")
    if not os.access(resolved.parent, os.W_OK | os.X_OK) or (resolved.exists() and not os.access(resolved, os.W_OK)):
        raise StateStoreUnavailable(
            f"STATE_DB_PATH {resolved} is not writable by this user; fix its permissions or choose another path"
        )
    return resolved


def _cell(value: Any) -> Any:
    # Details columns are JSON text; accept a mapping/list for convenience and store it canonically.
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return value


def _group_by_columns(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, ...], list[tuple[Any, ...]]]:
    """Rows with the same key set share one appender (rows may omit columns that have defaults)."""
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for row in rows:
        cols = tuple(row)
        groups.setdefault(cols, []).append(tuple(_cell(row[c]) for c in cols))
    return groups


log = logging.getLogger(__name__)

_REQUIRED_ORDER_COLUMNS = frozenset(
    {
        "client_order_id",
        "run_id",
        "cycle_id",
        "symbol",
        "side",
        "method",
        "price",
        "quantity",
        "status",
        "created_at",
        "updated_at",
        "ttl_seconds",
    }
)


class StateStore:
    """The single owner of write access to the state DB in this process."""

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout_s: float = 5.0) -> None:
        self.path = prepare_db_path(path)
        self._lock_timeout_s = lock_timeout_s
        self._buf_lock = threading.Lock()
        # One flush at a time: the write connection has exactly one user.
        self._flush_lock = threading.Lock()
        self._rows: dict[str, list[Row]] = {}
        self._orders: dict[str, Row] = {}
        self._migrated_version: int | None = None
        self._closed = False
        self.stats = FlushStats()
        self._journal = IntentJournal(journal_path_for(self.path, new_owner()))

    # ----- buffering (cheap, any thread) -----
    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Buffer rows for ``table``; they reach the file at the next ``flush()``."""
        if table == _ORDERS:
            for row in rows:
                self.upsert_order(row)
            return
        if not table.isidentifier():
            raise ValueError(f"not a table name: {table!r}")
        copies = [dict(r) for r in rows]
        with self._buf_lock:
            self._check_open()
            self._rows.setdefault(table, []).extend(copies)

    def upsert_order(self, row: Mapping[str, Any]) -> None:
        """Buffer an INSERT OR REPLACE of an order keyed by client_order_id; later fields win."""
        cid = row.get("client_order_id")
        if not isinstance(cid, str) or not cid:
            raise ValueError("an order row needs a client_order_id")
        with self._buf_lock:
            self._check_open()
            previous = self._orders.get(cid)
            self._orders[cid] = {**previous, **row} if previous else dict(row)

    def write_ahead(self, row: Mapping[str, Any]) -> None:
        """Make an order row durable *now* (intent journal, microseconds) and buffer it for the next flush.

        Used for the INTENT row before a submit leaves the process; see ``btcbot.storage.intent_journal``.
        """
        self.upsert_order(row)
        self._journal.append(row)

    @property
    def pending_rows(self) -> int:
        with self._buf_lock:
            return sum(len(v) for v in self._rows.values()) + len(self._orders)

    # ----- the write path -----
    def migrate(self) -> int:
        """Apply pending migrations (holding the file only for that) and return the schema version."""
        with self._flush_lock:
            con = connect_with_retry(self.path, read_only=False, timeout_s=self._lock_timeout_s)
            try:
                self._migrated_version = apply_migrations(con)
                self._recover_journal(con)
            finally:
                con.close()
            return self._migrated_version

    def flush(self) -> int:
        """Write everything buffered in one transaction; returns rows written. Rows stay buffered on failure."""
        with self._flush_lock:
            with self._buf_lock:
                rows, self._rows = self._rows, {}
                orders, self._orders = self._orders, {}
                journaled = self._journal.appended
            count = sum(len(v) for v in rows.values()) + len(orders)
            if count == 0 and self._migrated_version is not None:
                return 0
            started = time.perf_counter()
            committed = False
            try:
                con = connect_with_retry(self.path, read_only=False, timeout_s=self._lock_timeout_s)
                try:
                    if self._migrated_version is None:
                        self._migrated_version = apply_migrations(con)
                        self._recover_journal(con)
                    if count:
                        self._write(con, rows, orders)
                    committed = True
                finally:
                    con.close()
            except BaseException:
                if not committed:
                    self.stats.failed_flushes += 1
                    self._requeue(rows, orders)
                    raise
            self._truncate_journal_if_drained(journaled)
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            s = self.stats
            s.flushes += 1
            s.rows_written += count
            s.last_flush_ms = elapsed_ms
            s.max_flush_ms = max(s.max_flush_ms, elapsed_ms)
            s.total_flush_ms += elapsed_ms
            return count

    @staticmethod
    def _write(con: duckdb.DuckDBPyConnection, rows: dict[str, list[Row]], orders: dict[str, Row]) -> None:
        con.begin()
        try:
            for table, table_rows in rows.items():
                for cols, values in _group_by_columns(table_rows).items():
                    appender = con.appender(table, columns=list(cols))
                    appender.append_rows(values)
                    appender.flush()
            # The upsert appender keeps the first of duplicate keys in one batch; the buffer already merged them.
            for cols, values in _group_by_columns(orders.values()).items():
                appender = con.appender(_ORDERS, columns=list(cols), action="upsert")
                appender.append_rows(values)
                appender.flush()
            con.commit()
        except BaseException:
            con.rollback()
            raise

    def _recover_journal(self, con: duckdb.DuckDBPyConnection) -> None:
        """Fold journals left by crashed processes into ``orders`` (DB rows are newer and win), then delete them.

        A journal whose owner is still alive (another instance sharing this DB) is left alone.
        """
        for path in find_journals(self.path):
            if path == self._journal.path:
                continue
            with claim_orphan(path) as orphaned:
                if not orphaned:
                    continue
                self._fold_orphan(con, path)
                path.unlink(missing_ok=True)

    def _fold_orphan(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        pending = read_journal(path)
        if not pending:
            return
        known = {r[0] for r in con.execute("SELECT client_order_id FROM orders").fetchall()}
        missing: dict[str, Row] = {}
        for row in pending:
            cid = row["client_order_id"]
            if cid in known:
                continue
            merged = {**missing.get(cid, {}), **row}
            absent = _REQUIRED_ORDER_COLUMNS - {k for k, v in merged.items() if v is not None}
            if absent:
                # Never wedge every future flush on one bad line; the reconciler still adopts the venue's order
                # by its prefix, so nothing is duplicated. Say so loudly.
                log.error("intent journal %s: order %s lacks %s; not recovered", path, cid, absent)
                continue
            missing[cid] = merged
        if missing:
            self._write(con, {}, missing)

    def _truncate_journal_if_drained(self, journaled_at_snapshot: int) -> None:
        # Every line appended before the snapshot is now in the DB; truncate only if none arrived since.
        if journaled_at_snapshot:
            self._journal.truncate_if_count(journaled_at_snapshot)

    def _requeue(self, rows: dict[str, list[Row]], orders: dict[str, Row]) -> None:
        # Put the unwritten batch back ahead of anything buffered meanwhile, preserving order.
        with self._buf_lock:
            for table, table_rows in rows.items():
                self._rows[table] = table_rows + self._rows.get(table, [])
            for cid, row in orders.items():
                newer = self._orders.get(cid)
                self._orders[cid] = {**row, **newer} if newer else row

    # ----- reading (same process) -----
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Flush, then run a read query on a short-lived read-only connection."""
        self.flush()
        con = connect_with_retry(self.path, read_only=True, timeout_s=self._lock_timeout_s)
        try:
            return con.execute(sql, list(params)).fetchall()
        finally:
            con.close()

    def close(self) -> None:
        """Final flush. Raises (with rows still buffered) if the file cannot be written."""
        if self._closed:
            return
        self.flush()
        with self._buf_lock:
            self._closed = True
        self._journal.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StateStoreUnavailable(f"state store {self.path} is closed; rows cannot be buffered after close()")

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"StateStore({str(self.path)!r}, pending_rows={self.pending_rows})"
