"""The report commands run as real processes, repeatedly, while a real `btcbot run --loop` writes the same DB.

DuckDB lets one process open a file while it is open for writing; the runtime holds the file only while it
flushes and the reports open it read-only with retries. Every report must succeed, and the runtime must lose
no record: at the end there is one decision per symbol per cycle.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from btcbot.storage import open_reader
from btcbot.testing.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SYMBOLS = ("BTCTRY", "ETHTRY")
# An upper bound only: the loop is stopped gracefully (SIGTERM) once enough report rounds overlapped it, so a
# loaded machine (slow process starts) still gets its rounds instead of racing a fixed-length loop.
MAX_CYCLES = 600
ROUNDS = 3


def test_reports_run_beside_a_live_loop_and_the_loop_loses_nothing(tmp_path: Path) -> None:
    from btcbot.sim import DEMO_API_KEY, DEMO_API_SECRET, Simulator

    db = tmp_path / "state" / "btcbot_state.db"
    with Simulator(seed=3, symbols=SYMBOLS, api_key=DEMO_API_KEY, api_secret=DEMO_API_SECRET, market_tick_ms=50) as sim:
        env = {
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT")},
            "BTCTURK_BASE_URL": sim.rest_url,
            "BTCTURK_WS_URL": sim.ws_url,
            "BTCTURK_API_KEY": sim.api_key,
            "BTCTURK_API_SECRET": sim.api_secret,
            "STATE_DB_PATH": str(db),
            "LOCK_DIR": os.environ["LOCK_DIR"],
            "UNIVERSE_SYMBOLS": ",".join(SYMBOLS),
            "MAX_MARKET_DATA_AGE_MS": "5000",
        }
        runtime = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "btcbot",
                "run",
                "--dry-run",
                "--loop",
                "--cycle-seconds",
                "0.2",
                "--max-cycles",
                str(MAX_CYCLES),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        rounds = 0
        failures: list[str] = []
        try:
            wait_until(lambda: db.exists() or runtime.poll() is not None, what="the loop creates its DB")
            while runtime.poll() is None and rounds < ROUNDS:
                rounds += 1
                export = tmp_path / "exports" / f"round{rounds}.parquet"
                argvs = (
                    ("stage7-report", "--last", "20", "--json"),
                    ("stage7-alerts", "--last", "50", "--json"),
                    ("stage7-export", "--last", "50", "--format", "parquet", "--out", str(export)),
                )
                # The three readers run at once, beside the writer: the worst case for the file lock.
                procs = [
                    subprocess.Popen(
                        [sys.executable, "-m", "btcbot", *argv],
                        env=env,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        text=True,
                    )
                    for argv in argvs
                ]
                for argv, proc in zip(argvs, procs, strict=True):
                    stdout, stderr = proc.communicate(timeout=60)
                    # Alerts may legitimately warn (exit 1); it must still answer with its JSON document.
                    ok = proc.returncode == 0 or (argv[0] == "stage7-alerts" and proc.returncode == 1)
                    if argv[0] != "stage7-export" and ok:
                        json.loads(stdout)
                    if argv[0] == "stage7-export" and ok:
                        ok = export.is_file()
                    if not ok:
                        failures.append(f"{argv[0]} exit {proc.returncode}: {stderr.strip()[-300:]}")
            runtime.send_signal(signal.SIGTERM)  # graceful stop: finish the step, flush, exit 130 (interrupted)
            out, err = runtime.communicate(timeout=60)
        finally:
            if runtime.poll() is None:
                runtime.kill()
                runtime.wait()
    assert runtime.returncode == 130, err[-2000:]
    assert "anomalies=interrupted" in out.splitlines(), out[-2000:]  # and nothing else went wrong
    assert not failures, failures
    assert rounds == ROUNDS, f"only {rounds} report round(s) overlapped the loop"

    with open_reader(db) as con:
        decisions = con.execute("SELECT count(*) FROM decisions WHERE symbol <> '*'").fetchone()
        cycles = con.execute("SELECT count(*), max(duration_ms) FROM cycles").fetchone()
        per_cycle = con.execute(
            "SELECT count(*) FROM (SELECT cycle_id FROM decisions WHERE symbol <> '*' GROUP BY cycle_id "
            "HAVING count(*) <> ?)",
            [len(SYMBOLS)],
        ).fetchone()
    assert cycles is not None and decisions is not None and per_cycle is not None
    assert 1 <= cycles[0] < MAX_CYCLES  # stopped by the signal, after the report rounds
    # No cycle stalled behind a reader: the runtime judges that itself (a cycle past its timeout latches safe mode, a
    # flush that cannot get the file fails the writer), and either would be an anomaly besides the interruption.
    assert decisions[0] == cycles[0] * len(SYMBOLS)
    assert per_cycle[0] == 0
