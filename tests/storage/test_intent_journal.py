"""The INTENT write-ahead journal: durable before a submit, folded into the DB, never losing a line."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from btcbot.storage import StateStore
from btcbot.storage.intent_journal import IntentJournal, find_journals, journal_path_for, owner_alive, read_journal


def _order_row(cid: str, status: str = "INTENT") -> dict[str, object]:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    return {
        "client_order_id": cid,
        "exchange_order_id": None,
        "run_id": "run-1",
        "cycle_id": 1,
        "decision_id": "d-1",
        "symbol": "BTCTRY",
        "side": "buy",
        "method": "limit",
        "price": Decimal("3000000"),
        "quantity": Decimal("0.00005000"),
        "filled_quantity": Decimal(0),
        "status": status,
        "created_at": now,
        "updated_at": now,
        "ttl_seconds": 30,
    }


def _orphan(db: Path, *rows: dict[str, object]) -> Path:
    """A journal whose owner is gone: written, then released as a killed process's would be."""
    journal = IntentJournal(journal_path_for(db, "dead-0001"))
    for row in rows:
        journal.append(row)
    journal.close()
    return journal.path


def _journaled(db: Path) -> str:
    return "".join(p.read_text() for p in find_journals(db))


def _orders(db: Path) -> dict[str, tuple[str, Decimal]]:
    store = StateStore(db)
    try:
        return {r[0]: (r[1], r[2]) for r in store.query("SELECT client_order_id, status, price FROM orders")}
    finally:
        store.close()


def test_write_ahead_is_on_disk_before_any_flush_and_truncated_after(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = StateStore(db)
    store.migrate()
    store.write_ahead(_order_row("btcbot-x-1"))
    assert _journaled(db).count("btcbot-x-1") == 1  # durable without touching DuckDB
    store.flush()
    assert _journaled(db) == ""  # every journaled row is now in the DB
    store.close()
    assert find_journals(db) == []  # a drained journal is removed on close
    assert _orders(db) == {"btcbot-x-1": ("INTENT", Decimal("3000000"))}


def test_a_crash_after_write_ahead_loses_nothing(tmp_path: Path) -> None:
    """SIGKILL right after the journal append (before any flush): the next store recovers the INTENT row."""
    db = tmp_path / "state.db"
    StateStore(db).migrate()
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_intent_journal import _order_row
        from btcbot.storage import StateStore
        store = StateStore({str(db)!r})
        store.migrate()
        store.write_ahead(_order_row("btcbot-x-crash"))
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, timeout=60)
    assert proc.returncode == -9, proc.stderr.decode()
    [journal] = find_journals(db)
    assert "btcbot-x-crash" in journal.read_text() and not owner_alive(journal)
    assert _orders(db) == {"btcbot-x-crash": ("INTENT", Decimal("3000000"))}
    assert find_journals(db) == []  # folded into the DB, then deleted


def test_recovery_never_overwrites_a_newer_db_row(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = StateStore(db)
    store.upsert_order(_order_row("btcbot-x-2", status="CANCELLED"))
    store.close()
    # A stale journal line for the same order (e.g. left by a crash between flush and truncate).
    _orphan(db, _order_row("btcbot-x-2"))
    assert _orders(db)["btcbot-x-2"][0] == "CANCELLED"


def test_torn_last_line_is_skipped_and_earlier_lines_kept(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    path = _orphan(db, _order_row("btcbot-x-3"))
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"client_order_id": "btcbot-x-4", "pri')  # a write cut short by a crash
    assert set(_orders(db)) == {"btcbot-x-3"}


def test_lines_appended_during_a_flush_survive_its_truncation(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = StateStore(db)
    store.migrate()
    store.write_ahead(_order_row("btcbot-x-5"))
    journaled_before = store._journal.appended
    store._journal.append(_order_row("btcbot-x-6"))  # arrives after the flush took its snapshot
    assert not store._journal.truncate_if_count(journaled_before)
    assert "btcbot-x-6" in store._journal.path.read_text()
    assert "btcbot-x-5" in store._journal.path.read_text()


def test_an_incomplete_journal_row_never_wedges_the_store(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    _orphan(
        db, {"client_order_id": "btcbot-x-bad", "status": "INTENT"}, _order_row("btcbot-x-good")
    )  # bad: no run_id, price
    assert set(_orders(db)) == {"btcbot-x-good"}
    store = StateStore(db)
    store.upsert_order(_order_row("btcbot-x-next"))
    store.close()  # later flushes still work
    assert set(_orders(db)) == {"btcbot-x-good", "btcbot-x-next"}


def test_a_live_instance_sharing_the_db_keeps_its_journal(tmp_path: Path) -> None:
    """Two scopes may share one DB: a store never folds, truncates or deletes another live process's journal."""
    db = tmp_path / "state.db"
    other = IntentJournal(journal_path_for(db, "live-0002"))  # another running instance's journal
    other.append(_order_row("btcbot-y-1"))
    assert owner_alive(other.path)
    store = StateStore(db)
    store.write_ahead(_order_row("btcbot-x-7"))
    store.close()  # recovery ran and this store's own journal drained
    assert [r["client_order_id"] for r in read_journal(other.path)] == ["btcbot-y-1"]
    assert set(_orders(db)) == {"btcbot-x-7"}
    other.close()  # the other instance dies with its intent unflushed
    assert set(_orders(db)) == {"btcbot-x-7", "btcbot-y-1"}
