"""stage7-report / -alerts / -export on DBs written by the real StateStore (synthetic rows)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from btcbot.cli import main
from btcbot.reports import EXPORT_COLUMNS, build_report, load_window
from btcbot.storage import StateStore, open_reader


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_report_summary_on_the_incident_db(incident_db: Path) -> None:
    with open_reader(incident_db) as con:
        report = build_report(load_window(con, 100))
    s = report.summary
    assert (s.decisions, s.cycles) == (8, 8)
    assert s.by_reason_code["market_data:stale"] == 3
    assert (s.orders_sent, s.orders_rejected, s.orders_filled) == (2, 1, 1)
    assert (s.reject_rate, s.fill_rate) == (0.5, 0.5)
    assert (s.submit_latency_p50_ms, s.submit_latency_p95_ms) == (40.0, 90.0)
    assert s.safe_mode_events == 1 and s.kill_switch_cycles == 0
    submit = next(r for r in report.rows if r.cycle_id == 2)
    assert (submit.orders, submit.submit_latency_ms, submit.cycle_ms) == ("buy:FILLED", 90.0, 50.0)


def test_kill_switch_cycles_count_cycles_not_records(tmp_path: Path, scenario: Any) -> None:
    scenario.cycle(1, "kill_switch:cancel", action="cancel", coid="cb-9")
    scenario.cycle(1, "risk:kill_switch", symbol="ETHTRY", action="refuse")
    scenario.cycle(2, "kill_switch:no_open_orders")
    scenario.cycle(3, "cycle:ok")
    db = scenario.write(tmp_path / "ks.db")
    with open_reader(db) as con:
        summary = build_report(load_window(con, 10)).summary
    assert (summary.decisions, summary.cycles, summary.kill_switch_cycles) == (4, 3, 2)


def test_report_last_n_takes_the_newest_records(incident_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "stage7-report", "--last", "3", "--json", "--db", str(incident_db))
    doc = json.loads(out)
    assert code == 0 and doc["schema_version"] == 1
    assert [r["cycle_id"] for r in doc["rows"]] == [6, 7, 8]
    assert doc["summary"]["reject_rate"] is None  # no order in the window: unknown, not 0


def test_report_text_has_the_table_and_the_summary(incident_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "stage7-report", "--last", "20", "--db", str(incident_db))
    assert code == 0
    assert "market_data:stale" in out and "supervisor:safe_mode" in out
    assert "reject_rate       0.500" in out and "p95=90 ms" in out and "safe_mode_events  1" in out


def test_report_reads_state_db_path_from_the_environment(
    incident_db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATE_DB_PATH", str(incident_db))
    code, out, _ = run(capsys, "stage7-report", "--last", "5")
    assert code == 0 and str(incident_db) in out


@pytest.mark.parametrize("command", ["stage7-report", "stage7-alerts", "stage7-export"])
def test_missing_db_is_exit_2_naming_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    missing = tmp_path / "nope" / "state.db"
    extra = ["--out", str(tmp_path / "x.jsonl")] if command == "stage7-export" else []
    code, _, err = run(capsys, command, "--db", str(missing), *extra)
    assert code == 2 and str(missing) in err and err.startswith("error: ")
    assert not missing.parent.exists()  # a report never creates a DB


def test_a_file_that_is_not_a_btcbot_db_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_text("not a database\n")
    plain = tmp_path / "plain.db"
    duckdb.connect(str(plain)).close()
    for path in (garbage, plain):
        code, _, err = run(capsys, "stage7-alerts", "--db", str(path))
        assert code == 2 and str(path) in err and "Traceback" not in err


def test_a_fresh_db_reports_nothing_yet(tmp_path: Path, scenario: Any, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "fresh.db"
    store = StateStore(db)
    store.migrate()
    store.close()
    code, out, _ = run(capsys, "stage7-report", "--db", str(db))
    assert code == 0 and "no decision records yet" in out and "reject_rate       n/a" in out
    code, out, _ = run(capsys, "stage7-alerts", "--db", str(db))
    assert code == 0 and "alerts_status=OK" in out
    code, out, _ = run(capsys, "stage7-export", "--format", "csv", "--out", str(tmp_path / "e.csv"), "--db", str(db))
    assert code == 0 and "wrote 0 row(s)" in out
    assert (tmp_path / "e.csv").read_text().splitlines() == [",".join(EXPORT_COLUMNS)]


def test_bad_last_is_a_usage_error(incident_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "stage7-report", "--last", "0", "--db", str(incident_db))
    assert code == 2 and "--last" in err


def test_alerts_on_the_incident_db(incident_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "stage7-alerts", "--last", "50", "--json", "--db", str(incident_db))
    doc = json.loads(out)
    by_kind = {a["kind"]: a for a in doc["alerts"]}
    assert code == 2 and doc["status"] == "critical" and doc["exit_code"] == 2
    assert by_kind["safe_mode"]["severity"] == "critical" and by_kind["safe_mode"]["count"] == 1
    assert by_kind["stale_streak"]["severity"] == "warning" and by_kind["stale_streak"]["count"] == 3
    assert by_kind["lock_contention"]["severity"] == "warning"
    assert set(by_kind["safe_mode"]) >= {"first_seen", "last_seen", "count", "status", "reason_code", "message"}


def test_alerts_exit_1_with_warnings_only_and_0_when_quiet(
    tmp_path: Path, scenario: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    for c in (1, 2, 3):
        scenario.cycle(c, "market_data:stale", action="block")
    db = scenario.write(tmp_path / "warn.db")
    code, out, _ = run(capsys, "stage7-alerts", "--db", str(db))
    assert code == 1 and "alerts_status=WARNING" in out
    code, out, _ = run(capsys, "stage7-alerts", "--last", "0", "--db", str(db))
    assert code == 2  # usage error, not a silent pass
    # Raising the streak threshold above the streak makes it informational.
    code, out, _ = run(
        capsys, "stage7-alerts", "--db", str(db), "--env-file", str(_env(tmp_path, "DOCTOR_STALE_BLOCK_WARN_COUNT=4"))
    )
    assert code == 0 and "alerts_status=OK" in out


def _env(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / ".env.test"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_export_round_trips(incident_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    out = tmp_path / "deep" / "er" / f"stage7.{fmt}"
    code, stdout, _ = run(
        capsys, "stage7-export", "--last", "50", "--format", fmt, "--out", str(out), "--db", str(incident_db)
    )
    assert code == 0 and out.is_file() and "wrote 9 row(s)" in stdout
    rows = _read_back(out, fmt)
    # 8 decisions; the filled order has two fills (one matched by client id, one by exchange id).
    assert len(rows) == 9 and list(rows[0]) == list(EXPORT_COLUMNS)
    fills = sorted(int(r["fill_trade_id"]) for r in rows if r["fill_trade_id"] not in (None, ""))
    assert fills == [1001, 1002]
    rejected = [r for r in rows if r["order_status"] == "REJECTED"]
    assert len(rejected) == 1 and rejected[0]["reason_code"] == "order:rejected"
    price = next(r["order_price"] for r in rows if r["order_status"] == "FILLED")
    assert str(price).startswith("2500000.5")  # exact decimal, not a float
    assert all(not any(out.parent.glob(".*.tmp")) for _ in [0])


def _read_back(path: Path, fmt: str) -> list[dict[str, Any]]:
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    if fmt == "csv":
        with path.open(newline="") as fh:
            return list(csv.DictReader(fh))
    con = duckdb.connect()
    try:
        cur = con.execute("SELECT * FROM read_parquet(?)", [str(path)])
        names = [c[0] for c in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def test_export_refuses_to_overwrite_without_force(
    incident_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "stage7.jsonl"
    out.write_text("keep me\n")
    code, _, err = run(capsys, "stage7-export", "--out", str(out), "--db", str(incident_db))
    assert code == 2 and "--force" in err and out.read_text() == "keep me\n"
    code, _, _ = run(capsys, "stage7-export", "--out", str(out), "--force", "--db", str(incident_db))
    assert code == 0 and out.read_text() != "keep me\n"


def test_export_rejects_an_unknown_format_and_a_missing_out(
    incident_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "stage7-export", "--format", "xlsx", "--out", str(tmp_path / "a"), "--db", str(incident_db)
    )
    assert code == 2 and "jsonl, csv, parquet" in err
    code, _, err = run(capsys, "stage7-export", "--db", str(incident_db))
    assert code == 2 and "--out" in err


def test_export_carries_no_settings_or_secrets(
    tmp_path: Path, scenario: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario.cycle(1, "cycle:ok")
    db = scenario.write(tmp_path / "s.db")
    out = tmp_path / "e.jsonl"
    assert run(capsys, "stage7-export", "--out", str(out), "--db", str(db))[0] == 0
    text = out.read_text()
    assert "settings" not in text and "SECRET" not in text.upper()
