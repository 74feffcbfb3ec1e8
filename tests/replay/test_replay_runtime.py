"""Replay through the real runtime: determinism, the shipped dataset's stale episode, reports on the result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from btcbot.cli import main
from btcbot.errors import UsageError
from btcbot.replay.session import run_replay

DECISION_COLS = (
    "decision_id, run_id, cycle_id, ts, symbol, mode, action, reason_code, details, market_data_age_ms, client_order_id"
)


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def two_replays(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("replays")
    dbs = (base / "a.db", base / "b.db")
    for db in dbs:
        result = run_replay(dataset=None, speed=None, db=db, seed=3, env_file=None)
        assert result.exit_code in (0, 1)
        assert result.events > 0 and result.cycles > 5
    return dbs


def test_same_dataset_settings_and_seed_give_identical_records(two_replays: tuple[Path, Path]) -> None:
    a, b = two_replays
    for sql in (
        f"SELECT {DECISION_COLS} FROM decisions ORDER BY decision_id",  # noqa: S608 - constant columns
        "SELECT client_order_id, exchange_order_id, cycle_id, side, price, quantity, filled_quantity, status, "
        "created_at, updated_at FROM orders ORDER BY client_order_id",
        "SELECT trade_id, client_order_id, price, quantity, fee, tax, ts FROM fills ORDER BY trade_id",
        "SELECT cycle_id, started_at, ended_at, outcome_reason_code FROM cycles ORDER BY cycle_id",
    ):
        rows_a, rows_b = _rows(a, sql), _rows(b, sql)
        assert rows_a == rows_b
    assert len(_rows(a, "SELECT * FROM decisions")) > 5


def test_shipped_dataset_stale_episode_is_blocked_by_the_guard(two_replays: tuple[Path, Path]) -> None:
    db = two_replays[0]
    codes = {r[0] for r in _rows(db, "SELECT reason_code FROM decisions")}
    assert "market_data:stale" in codes
    assert "order:submitted" in codes
    stale = _rows(db, "SELECT action, market_data_age_ms FROM decisions WHERE reason_code = 'market_data:stale'")
    assert all(action == "block" and age > 3000 for action, age in stale)
    # Virtual time: records carry the dataset's timestamps, not today's.
    (mode,) = {r[0] for r in _rows(db, "SELECT mode FROM decisions WHERE symbol <> '*'")}
    assert mode == "live"


def test_reports_work_on_a_replay_db(two_replays: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    db = two_replays[1]
    code = main(["stage7-report", "--db", str(db), "--last", "500", "--json"])
    out = capsys.readouterr().out
    assert code in (0, 1)
    assert "market_data:stale" in out
    assert main(["stage7-alerts", "--db", str(db)]) in (0, 1)


def test_backtest_json_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["backtest", "--json", "--db", str(tmp_path / "bt.db")])
    out = capsys.readouterr().out
    summary = json.loads(out)
    assert code in (0, 1)
    assert summary["events"] > 0 and summary["orders"] >= 1
    assert summary["stale_blocks"] >= 1
    for key in ("fills", "fees", "pnl", "max_drawdown", "reject_rate", "submit_latency_p95_ms"):
        assert key in summary


def test_replay_refuses_a_live_state_db(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    run_replay(dataset=None, speed=None, db=db, seed=1, env_file=None)
    con = duckdb.connect(str(db))
    con.execute("UPDATE runs SET command = 'run'")
    con.close()
    with pytest.raises(UsageError, match="never writes into a live state DB"):
        run_replay(dataset=None, speed=None, db=db, seed=1, env_file=None)
    assert db.exists()


def test_replay_refuses_a_db_with_records_of_a_killed_live_run(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    run_replay(dataset=None, speed=None, db=db, seed=1, env_file=None)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM runs")
    con.execute("UPDATE decisions SET run_id = '20261124T000000Z-abc123'")
    con.close()
    with pytest.raises(UsageError, match="never writes into a live state DB"):
        run_replay(dataset=None, speed=None, db=db, seed=1, env_file=None)
    assert db.exists()


def test_dataset_without_the_universe_symbols_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UNIVERSE_SYMBOLS", "BTCTRY,ETHTRY")
    assert main(["replay", "--db", str(tmp_path / "x.db")]) == 2
    err = capsys.readouterr().err
    assert "sim_btctry.jsonl.gz: has no ETHTRY" in err and "Traceback" not in err


def test_header_only_dataset_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from btcbot.replay.dataset import DatasetWriter

    from .conftest import header

    path = tmp_path / "empty.jsonl"
    DatasetWriter(path, header()).close()
    assert main(["backtest", "--dataset", str(path), "--db", str(tmp_path / "e.db")]) == 2
    assert f"dataset {path}: holds no events" in capsys.readouterr().err


def test_shipped_dataset_by_name_and_text_backtest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["backtest", "--dataset", "sim-btctry", "--db", str(tmp_path / "n.db")])
    out = capsys.readouterr().out
    assert code in (0, 1)
    assert "backtest replay-" in out and "market_data:stale 1" in out and "PnL" in out and "max drawdown" in out


def test_replay_is_armed_but_can_reach_no_network_venue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from btcbot.arming import ArmingGate
    from btcbot.replay.session import replay_settings

    monkeypatch.setenv("BTCTURK_BASE_URL", "https://api.btcturk.com")
    monkeypatch.setenv("DRY_RUN", "true")
    settings = replay_settings(None, tmp_path / "x.db", "replay")
    assert ArmingGate.from_settings(settings).live
    assert settings.btcturk_base_url.endswith(".invalid")
    assert settings.btcturk_ws_url.endswith(".invalid")
    assert settings.state_db_path == tmp_path / "x.db"
