"""``btcbot status`` over synthetic state DBs: the instance, last cycles, open orders, metrics, JSON and --watch."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from btcbot import reason_codes as rc
from btcbot.cli import main
from btcbot.commands.status import gather, watch
from btcbot.doctor.slo import DB_CHECK_NAMES
from btcbot.domain.orders import owned_prefix
from btcbot.reports.status import DbStatus, StatusReport, collect_db_status
from btcbot.reports.status_render import status_dict
from btcbot.settings import Settings
from btcbot.storage import StateStore, latest_version, open_reader

from .conftest import T0, Scenario

MINE = owned_prefix("public")
NOW = T0 + timedelta(seconds=10)


def running_db(path: Path, *, ended: bool = False) -> Path:
    """Three cycles of run-1 (timing columns set), this bot's open order, a filled one and a stranger's."""
    s = Scenario()
    s.cycle(1, rc.DRY_RUN_WOULD_SUBMIT, action="would_submit", age_ms=40.0)
    s.cycle(1, rc.MARKET_DATA_STALE, symbol="ETHTRY", action="block", age_ms=9000.0)
    s.cycle(2, rc.ORDER_SUBMITTED, action="submit", mode="live", coid=f"{MINE}a")
    s.cycle(2, rc.MARKET_DATA_INVALID_BOOK, symbol="ETHTRY", action="block")
    s.cycle(3, rc.STRATEGY_ORDER_ACTIVE, mode="live")
    s.cycle(3, rc.MARKET_DATA_STALE, symbol="ETHTRY", action="block", age_ms=9000.0)
    for c, lag, u2o in zip(s.cycles, (5.0, 7.0, 30.0), (0.5, 0.9, None), strict=True):
        c.update(reconcile_lag_ms=lag, update_to_order_ms=u2o, duration_ms=10.0 * c["cycle_id"])
    s.order(2, f"{MINE}a", "OPEN", latency_ms=44.0)
    s.order(1, f"{MINE}old", "FILLED", filled="0.00006", latency_ms=20.0)
    s.order(2, "btcbot-otherscope-b", "OPEN", latency_ms=60.0)
    s.write(path)
    if ended:  # Scenario writes run-1's runs row unfinished; the runtime writes it once, complete, at the end
        with duckdb.connect(str(path)) as con:
            con.execute("UPDATE runs SET ended_at = ?, exit_code = 0 WHERE run_id = 'run-1'", [NOW])
    return path


def collect(path: Path, lock: tuple[bool, int | None], version: int | None = None) -> DbStatus:
    with open_reader(path) as con:
        return collect_db_status(
            con,
            now=NOW,
            window_seconds=3600,
            owned_prefixes=(MINE,),
            lock=lock,
            schema_version=latest_version() if version is None else version,
            last_cycles=2,
        )


def test_a_running_instance_its_last_cycles_open_orders_and_metrics(tmp_path: Path) -> None:
    db = collect(running_db(tmp_path / "s.db"), (True, 4242))
    i = db.instance
    assert (i.running, i.pid, i.run_id, i.cycles, i.mode) == (True, 4242, "run-1", 3, "live")
    assert i.started_at == T0 + timedelta(seconds=1) and i.last_cycle_at == T0 + timedelta(seconds=3)
    assert i.uptime_s(NOW) == 9.0 and i.ended_at is None
    assert [c.cycle_id for c in db.last_cycles] == [3, 2]  # newest first, --last bound
    assert db.last_cycles[0].reasons == (("BTCTRY", rc.STRATEGY_ORDER_ACTIVE), ("ETHTRY", rc.MARKET_DATA_STALE))
    assert (db.last_cycles[1].update_to_order_ms, db.last_cycles[1].reconcile_lag_ms) == (0.9, 7.0)
    # Only this bot's unfinished orders: not the filled one, not another scope's.
    assert [o.client_order_id for o in db.open_orders] == [f"{MINE}a"]
    m = db.metrics
    assert (m.reconcile_lag_ms.samples, m.reconcile_lag_ms.p50, m.reconcile_lag_ms.max) == (3, 7.0, 30.0)
    assert (m.update_to_order_ms.samples, m.update_to_order_ms.p95) == (2, 0.9)
    assert (m.cycle_duration_ms.p50, m.cycle_duration_ms.max) == (20.0, 30.0)
    assert (m.order_submit_latency_ms.samples, m.order_submit_latency_ms.max) == (3, 60.0)
    assert m.invalid_best_bid_count == 1
    assert (m.stale_blocks, m.symbol_cycles, m.stale_market_data_rate) == (2, 6, 2 / 6)


def test_a_stopped_run_shows_its_end_and_a_killed_one_says_so(tmp_path: Path) -> None:
    ended = collect(running_db(tmp_path / "e.db", ended=True), (False, None)).instance
    assert (ended.running, ended.run_id, ended.ended_at, ended.exit_code) == (False, "run-1", NOW, 0)
    assert ended.uptime_s(NOW) is None
    killed = collect(running_db(tmp_path / "k.db"), (False, None)).instance
    assert (killed.running, killed.run_id, killed.ended_at, killed.cycles) == (False, "run-1", None, 3)


def test_a_new_holder_that_has_not_recorded_a_cycle_yet(tmp_path: Path) -> None:
    starting = collect(running_db(tmp_path / "e.db", ended=True), (True, 777)).instance
    assert (starting.running, starting.pid, starting.run_id, starting.cycles) == (True, 777, None, 0)


def test_a_db_from_before_the_timing_columns(tmp_path: Path) -> None:
    path = running_db(tmp_path / "old.db")
    with duckdb.connect(str(path)) as con:
        con.execute("ALTER TABLE cycles DROP COLUMN reconcile_lag_ms")
        con.execute("ALTER TABLE cycles DROP COLUMN update_to_order_ms")
        con.execute("DELETE FROM schema_version WHERE version >= 2")
    db = collect(path, (False, None), version=1)
    assert db.metrics.reconcile_lag_ms.samples == 0 and db.last_cycles[0].update_to_order_ms is None
    assert db.metrics.cycle_duration_ms.samples == 3


@pytest.mark.parametrize("old_schema", [False, True])
def test_an_aborted_cycle_is_listed_and_counted(tmp_path: Path, old_schema: bool) -> None:
    """An actor failure aborts a cycle: the runtime writes its decisions but no cycles row. Status must still
    show it (it is the cycle the operator is looking for) and count it with the run's cycles."""
    path = running_db(tmp_path / "s.db")
    with duckdb.connect(str(path)) as con:
        for symbol, reason in (("*", rc.SUPERVISOR_SAFE_MODE), ("BTCTRY", rc.SUPERVISOR_CYCLE_ABORTED)):
            con.execute(
                "INSERT INTO decisions (decision_id, run_id, cycle_id, ts, symbol, mode, action, reason_code, details)"
                " VALUES (?, 'run-1', 4, ?, ?, 'live', 'none', ?, '{}')",
                [f"run-1:4:{symbol}:aborted", T0 + timedelta(seconds=4), symbol, reason],
            )
        if old_schema:
            con.execute("ALTER TABLE cycles DROP COLUMN reconcile_lag_ms")
            con.execute("ALTER TABLE cycles DROP COLUMN update_to_order_ms")
            con.execute("DELETE FROM schema_version WHERE version >= 2")
    db = collect(path, (False, None), version=1 if old_schema else None)
    assert db.instance.cycles == 4 and db.instance.last_cycle_at == T0 + timedelta(seconds=4)
    newest = db.last_cycles[0]
    assert (newest.cycle_id, newest.mode, newest.outcome_reason_code) == (4, "live", rc.SUPERVISOR_CYCLE_ABORTED)
    assert newest.reasons == (("BTCTRY", rc.SUPERVISOR_CYCLE_ABORTED),)
    assert (newest.duration_ms, newest.reconcile_lag_ms, newest.update_to_order_ms) == (None, None, None)
    assert db.last_cycles[1].cycle_id == 3
    assert db.metrics.cycle_duration_ms.samples == 3  # timing figures come from completed cycles only


def settings_for(path: Path) -> Settings:
    return Settings(state_db_path=path)


def test_gather_adds_the_doctors_slos_and_the_open_alerts(tmp_path: Path) -> None:
    s = Scenario()
    for c in (1, 2, 3, 4):
        s.cycle(c, rc.MARKET_DATA_STALE, action="block", age_ms=9000.0)
    path = s.write(tmp_path / "stale.db")
    report = gather(settings_for(path), "1h", 3600, now=NOW)
    assert [c.name for c in report.slos] == list(DB_CHECK_NAMES)
    assert {c.name: c.status.value for c in report.slos}["stale_blocks"] == "WARN"
    assert [a.kind for a in report.alerts] == ["stale_streak"] and report.alerts[0].open
    doc = status_dict(report)
    assert doc["schema_version"] == 1 and doc["db_error"] is None
    assert doc["instance"]["running"] is False and doc["instance"]["run_id"] == "run-1"
    assert doc["metrics"]["stale_market_data_rate"] == 1.0
    assert [a["kind"] for a in doc["alerts"]] == ["stale_streak"]
    assert report.exit_code == 0


def test_no_db_yet_is_exit_2_and_still_shows_the_lock(tmp_path: Path) -> None:
    report = gather(settings_for(tmp_path / "missing.db"), "1h", 3600)
    assert report.db is None and "not found" in (report.db_error or "") and report.exit_code == 2
    assert status_dict(report)["instance"] == {
        "running": False, "pid": None, "run_id": None, "started_at": None, "uptime_s": None,
        "last_cycle_at": None, "cycles": 0, "mode": None, "ended_at": None, "exit_code": None,
    }  # fmt: skip


def test_watch_shows_a_fresh_snapshot_each_time(tmp_path: Path) -> None:
    path = running_db(tmp_path / "s.db")
    shown: list[StatusReport] = []
    waits: list[float] = []

    def next_cycle_then_return(interval_s: float) -> None:
        """The fake clock: instead of sleeping, the runtime records one more cycle."""
        waits.append(interval_s)
        store = StateStore(path)
        cycle_id = 4 + len(waits) - 1
        store.insert(
            "cycles",
            [{"run_id": "run-1", "cycle_id": cycle_id, "started_at": T0 + timedelta(seconds=cycle_id), "mode": "live",
              "duration_ms": 1.0, "outcome_reason_code": rc.CYCLE_OK}],
        )  # fmt: skip
        store.flush()
        store.close()

    code = watch(
        lambda: gather(settings_for(path), "1h", 3600, now=NOW),
        shown.append,
        interval_s=2.0,
        count=3,
        wait=next_cycle_then_return,
    )
    assert code == 0 and waits == [2.0, 2.0]
    assert [r.instance.cycles for r in shown] == [3, 4, 5]
    assert [r.db.last_cycles[0].cycle_id for r in shown if r.db] == [3, 4, 5]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = running_db(tmp_path / "s.db")
    code, out, _ = run_cli(capsys, "status", "--json", "--db", str(path), "--window", "30m")
    doc: dict[str, Any] = json.loads(out)
    assert code == 0 and doc["state_db_path"] == str(path) and doc["window_seconds"] == 1800
    assert [c["cycle_id"] for c in doc["last_cycles"]] == [3, 2, 1]
    code, out, _ = run_cli(capsys, "status", "--db", str(path))
    assert code == 0
    for part in ("btcbot status", "last run run-1", "last cycles", "BTCTRY=strategy:order_active", "metrics over"):
        assert part in out, part
    code, out, _ = run_cli(
        capsys, "status", "--watch", "--count", "2", "--interval", "0.01", "--json", "--db", str(path)
    )
    assert code == 0 and [json.loads(line)["instance"]["cycles"] for line in out.splitlines()] == [3, 3]
    code, _, err = run_cli(capsys, "status", "--count", "2")
    assert code == 2 and "--interval and --count go with --watch" in err
    code, _, err = run_cli(capsys, "status", "--watch", "--window", "soon")
    assert code == 2 and "--window" in err
    code, out, _ = run_cli(capsys, "status", "--json", "--db", str(tmp_path / "missing.db"))
    assert code == 2 and "not found" in json.loads(out)["db_error"]
