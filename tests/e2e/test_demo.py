"""The demo walk-through end to end, then the report tools on the DB that real run produced.

One walk serves every assertion (it is the expensive part): the demo must exit 0, the DB must show the
stale block and the safe-mode escalation, and stage7-report / -alerts / -export must tell the truth about
that DB (a real run against the simulator with a stale episode and a safe-mode latch).
"""

from __future__ import annotations

import csv
import json
import shlex
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from btcbot.cli import main as cli_main
from btcbot.sim import DEMO_API_SECRET
from btcbot.storage import open_reader

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli_main(list(argv))
    return code, capsys.readouterr().out


def test_demo_walks_the_runbook_and_the_reports_tell_the_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "btcbot.demo", "--fast", "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    stages = [line for line in proc.stdout.splitlines() if line.startswith(("[stage", "[reports"))]
    assert [s.split("]")[0] for s in stages] == [
        "[stage 0 observe-only",
        "[stage 1 connectivity",
        "[stage 2 canary once (armed)",
        "[stage 3 canary loop + faults",
        "[reports (stage7-*)",
    ]
    db = state / "btcbot_state.db"
    export = state / "artifacts" / "stage7_demo.jsonl"
    assert f"state DB : {db}" in proc.stdout and f"export   : {export}" in proc.stdout

    # The closing hint runs as printed, from a shell where .venv is not on the PATH.
    (hint,) = [line for line in proc.stdout.splitlines() if line.strip().startswith("view the traces:")]
    env_assignment, *argv = shlex.split(hint.split(":", 1)[1])
    name, _, value = env_assignment.partition("=")
    assert name == "STATE_DB_PATH" and Path(value) == db
    shown = subprocess.run(
        argv,
        env={"PATH": "/usr/bin:/bin", name: value},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0 and "no traces yet" not in shown.stdout, shown.stdout + shown.stderr
    assert "cycle" in shown.stdout, shown.stdout

    # The secret never reaches the demo's output, its log or the export.
    for text in (proc.stdout, proc.stderr, (state / "demo.log").read_text(), export.read_text()):
        assert DEMO_API_SECRET not in text

    # The DB shows the stale block and the safe-mode escalation, with both causes.
    with open_reader(db) as con:
        stale = con.execute("SELECT count(*) FROM decisions WHERE reason_code = 'market_data:stale'").fetchone()
        causes = [
            json.loads(r[0])["cause"]
            for r in con.execute(
                "SELECT details FROM decisions WHERE reason_code = 'supervisor:safe_mode' ORDER BY ts"
            ).fetchall()
        ]
        after = con.execute(
            "SELECT DISTINCT reason_code FROM decisions d WHERE symbol <> '*' AND run_id = "
            "(SELECT run_id FROM decisions WHERE reason_code = 'supervisor:safe_mode' LIMIT 1) AND ts > "
            "(SELECT max(ts) FROM decisions WHERE reason_code = 'supervisor:safe_mode')"
        ).fetchall()
        total = con.execute("SELECT count(*) FROM decisions").fetchone()
        commands = {r[0]: r[1] for r in con.execute("SELECT command, exit_code FROM runs").fetchall()}
    assert stale is not None and stale[0] >= 3
    assert any(c.startswith("market_data") or "stale" in c for c in causes), causes
    assert any(c.startswith("actor_failure") for c in causes), causes
    assert after and {r[0] for r in after} <= {"risk:safe_mode", "supervisor:cycle_aborted", "arm:safe_mode_latched"}
    assert commands == {"run": 0, "canary_once": 0, "canary_loop": 1}
    assert total is not None

    # stage7-report on the real DB.
    code, out = _cli(capsys, "stage7-report", "--last", "500", "--json", "--db", str(db))
    report = json.loads(out)
    summary = report["summary"]
    assert code == 0 and summary["decisions"] == total[0]
    assert summary["by_reason_code"]["market_data:stale"] == stale[0]
    assert summary["safe_mode_events"] == len(causes) >= 2
    assert summary["orders_sent"] >= 2 and summary["submit_latency_p95_ms"] is not None

    # stage7-alerts: the deliberate safe mode is an open critical alert (exit 2), the stale streak a warning.
    code, out = _cli(capsys, "stage7-alerts", "--last", "500", "--json", "--db", str(db))
    alerts = {a["kind"]: a for a in json.loads(out)["alerts"]}
    assert code == 2
    assert alerts["safe_mode"]["severity"] == "critical" and alerts["safe_mode"]["count"] == len(causes)
    assert alerts["stale_streak"]["severity"] == "warning" and alerts["stale_streak"]["count"] >= 3
    assert alerts["stale_streak"]["status"] == "resolved"  # the simulator thawed and fresh data came back

    # stage7-export: every format carries every decision; orders are joined to the records that name them.
    jsonl_rows = [json.loads(line) for line in export.read_text().splitlines()]
    assert len(jsonl_rows) >= total[0]
    submits = [r for r in jsonl_rows if r["reason_code"] == "order:submitted"]
    assert submits and all(r["order_client_order_id"] for r in submits)
    for fmt in ("csv", "parquet"):
        out_path = tmp_path / "exports" / f"real.{fmt}"
        code, _ = _cli(
            capsys, "stage7-export", "--last", "500", "--format", fmt, "--out", str(out_path), "--db", str(db)
        )
        assert code == 0
        if fmt == "csv":
            with out_path.open(newline="") as fh:
                rows = list(csv.DictReader(fh))
        else:
            con = duckdb.connect()
            try:
                rows = [
                    {"decision_id": r[0]}
                    for r in con.execute("SELECT decision_id FROM read_parquet(?)", [str(out_path)]).fetchall()
                ]
            finally:
                con.close()
        assert {r["decision_id"] for r in rows} == {r["decision_id"] for r in jsonl_rows}


def test_demo_children_never_inherit_the_operators_gates_or_exporters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from btcbot.demo import Timings, child_env

    monkeypatch.setenv("LIVE_TRADING", "true")
    monkeypatch.setenv("kill_switch", "false")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector.invalid:4318")
    monkeypatch.setenv("BTCBOT_UNRELATED_HOME", "kept")
    env = child_env("http://127.0.0.1:1", "ws://127.0.0.1:2", "k", "s", tmp_path / "x.db", Timings.fast())
    assert "LIVE_TRADING" not in env and "kill_switch" not in env and "OTEL_EXPORTER_OTLP_ENDPOINT" not in env
    assert env["BTCBOT_UNRELATED_HOME"] == "kept"
    assert (env["BTCTURK_BASE_URL"], env["STATE_DB_PATH"]) == ("http://127.0.0.1:1", str(tmp_path / "x.db"))
