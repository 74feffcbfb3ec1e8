"""StateStore: buffering, bulk flush, upserts, migrations, unusable paths, in-process lock conflicts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from btcbot.errors import StateStoreUnavailable
from btcbot.storage import StateStore, StateStoreBusy, current_version, latest_version, open_reader

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _decision(i: int) -> dict[str, object]:
    return {
        "decision_id": f"d{i}",
        "run_id": "r1",
        "cycle_id": i,
        "ts": NOW,
        "symbol": "BTCTRY",
        "mode": "observe",
        "action": "block",
        "reason_code": "market_data:stale",
        "details": {"age_ms": 4000 + i},
    }


def _order(cid: str, **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "client_order_id": cid,
        "run_id": "r1",
        "cycle_id": 1,
        "symbol": "BTCTRY",
        "side": "buy",
        "method": "limit",
        "price": Decimal("2500000.5"),
        "quantity": Decimal("0.00006"),
        "status": "OPEN",
        "created_at": NOW,
        "updated_at": NOW,
        "ttl_seconds": 30,
    }
    row.update(kw)
    return row


def test_creates_parent_dirs_and_migrates(tmp_path: Path) -> None:
    db = tmp_path / "a" / "b" / "state.db"
    store = StateStore(db)
    assert store.migrate() == latest_version() >= 1
    assert db.is_file()
    with open_reader(db) as con:
        assert current_version(con) == latest_version()
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"runs", "cycles", "decisions", "orders", "order_events", "fills", "balance_snapshots", "alerts"} <= tables
    # Migrating again is a no-op.
    assert StateStore(db).migrate() == latest_version()


def test_rows_are_buffered_until_flush_and_types_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = StateStore(db)
    store.insert("decisions", [_decision(i) for i in range(250)])
    assert store.pending_rows == 250
    assert not db.exists()  # nothing touches the file before a flush
    assert store.flush() == 250
    assert store.pending_rows == 0
    rows = store.query(
        "SELECT count(*), min(ts), max(details) FROM decisions WHERE reason_code = ?", ["market_data:stale"]
    )
    assert rows[0][0] == 250
    assert rows[0][1] == NOW
    assert rows[0][2] == '{"age_ms":4249}'
    assert store.stats.flushes >= 1 and store.stats.rows_written == 250 and store.stats.last_flush_ms > 0


def test_order_upserts_merge_fields_and_replace(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    store.upsert_order(_order("c1"))
    store.upsert_order({"client_order_id": "c1", "status": "PARTIAL", "filled_quantity": Decimal("0.00002")})
    store.flush()
    store.upsert_order({"client_order_id": "c1", "status": "FILLED", "filled_quantity": Decimal("0.00006")})
    store.upsert_order(_order("c2", status="UNKNOWN"))
    rows = store.query("SELECT client_order_id, status, price, filled_quantity FROM orders ORDER BY 1")
    assert rows == [
        ("c1", "FILLED", Decimal("2500000.5"), Decimal("0.00006")),
        ("c2", "UNKNOWN", Decimal("2500000.5"), Decimal("0")),
    ]
    with pytest.raises(ValueError, match="client_order_id"):
        store.upsert_order({"status": "OPEN"})


def test_flush_retries_while_another_connection_holds_the_file_and_keeps_rows(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    StateStore(db).migrate()
    store = StateStore(db, lock_timeout_s=0.05)
    store.migrate()
    store.insert("decisions", [_decision(1), _decision(2)])
    holder = duckdb.connect(str(db), read_only=True)  # a reader that overstays
    try:
        with pytest.raises(StateStoreBusy, match="stayed locked"):
            store.flush()
        assert store.pending_rows == 2  # nothing lost
        store.insert("decisions", [_decision(3)])
    finally:
        holder.close()
    assert store.flush() == 3
    assert store.query("SELECT list(decision_id ORDER BY decision_id) FROM decisions") == [(["d1", "d2", "d3"],)]
    assert store.stats.failed_flushes == 1


def test_failed_batch_is_rolled_back_and_requeued(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    store.insert("decisions", [_decision(1)])
    store.insert("no_such_table", [{"x": 1}])
    with pytest.raises(duckdb.Error):
        store.flush()
    assert store.pending_rows == 2
    with open_reader(store.path) as con:
        assert con.execute("SELECT count(*) FROM decisions").fetchone() == (0,)


def test_unwritable_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(StateStoreUnavailable, match=r"STATE_DB_PATH .*a_file/sub/state\.db"):
        StateStore(blocker / "sub" / "state.db")
    with pytest.raises(StateStoreUnavailable, match="not a file"):
        StateStore(tmp_path)


def test_reader_on_absent_db_says_run_creates_it(tmp_path: Path) -> None:
    with pytest.raises(StateStoreUnavailable, match="creates it"), open_reader(tmp_path / "none.db"):
        pass


def test_close_flushes_and_refuses_more_rows(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with StateStore(db) as store:
        store.insert(
            "alerts",
            [
                {
                    "alert_id": "a1",
                    "ts": NOW,
                    "severity": "critical",
                    "kind": "safe_mode",
                    "reason_code": "supervisor:safe_mode",
                    "message": "m",
                    "details": "{}",
                }
            ],
        )
    with open_reader(db) as con:
        assert con.execute("SELECT count(*) FROM alerts").fetchone() == (1,)
    with pytest.raises(StateStoreUnavailable, match="closed"):
        store.insert("alerts", [])


def test_packaged_migrations_are_numbered_without_gaps() -> None:
    from btcbot.storage._migrate import available_migrations

    migrations = available_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "init" and "CREATE TABLE IF NOT EXISTS decisions" in migrations[0].sql
