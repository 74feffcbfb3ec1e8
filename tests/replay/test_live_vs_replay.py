"""Record the simulator's stream while an armed `btcbot run --loop` trades against it, then replay the recording.

The replay must decide what the live run decided: the same set of reason codes, including the guard's
market_data:stale for the frozen stretch in the middle (both saw the same WebSocket frames, and the same gap).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import duckdb
import pytest

from btcbot.cli import main
from btcbot.replay.recorder import RecordStats, record
from btcbot.replay.session import run_replay
from btcbot.testing.waiting import recorded_reason_codes, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SHARED = {
    "MARKET_DATA_MODE": "ws",
    "BTCTURK_WS_ENABLED": "true",
    "MAX_MARKET_DATA_AGE_MS": "1000",
    "CYCLE_SECONDS": "1",
    "CANARY_OFFSET_BPS": "100",  # far enough from the bid that neither run fills within the test
    "UNIVERSE_SYMBOLS": "BTCTRY",
    # The freeze spans two or more wall-clock cycles live (more on a loaded machine) but is cut on virtual
    # boundaries in replay, so a stale *streak* escalation could differ by one cycle. This test compares the
    # guard's decisions; the supervisor's streak escalation has tests of its own.
    "SAFE_MODE_STALE_CYCLES": "50",
}
CYCLES = 9


def _faults(rest_url: str, **changes: object) -> None:
    req = urllib.request.Request(  # noqa: S310 - loopback simulator
        rest_url + "/sim/faults", data=json.dumps(changes).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - loopback simulator
        resp.read()


def _codes(db: Path) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT reason_code FROM decisions WHERE symbol <> '*'").fetchall()}
    finally:
        con.close()


def _report_codes(db: Path, capsys: pytest.CaptureFixture[str]) -> set[str]:
    """What `btcbot stage7-report` shows per reason code (the operator's view of the run)."""
    capsys.readouterr()
    assert main(["stage7-report", "--db", str(db), "--last", "1000", "--json"]) == 0
    return set(json.loads(capsys.readouterr().out)["summary"]["by_reason_code"])


def test_replay_of_a_recording_decides_like_the_live_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from btcbot.sim import DEMO_API_KEY, DEMO_API_SECRET, Simulator

    dataset = tmp_path / "live.jsonl.gz"
    live_db = tmp_path / "live" / "state.db"
    with Simulator(
        seed=5, symbols=("BTCTRY",), api_key=DEMO_API_KEY, api_secret=DEMO_API_SECRET, market_tick_ms=100
    ) as sim:
        stop = threading.Event()
        first = threading.Event()
        stats: list[RecordStats] = []

        def recorder() -> None:
            stats.append(
                record(source="ws", base_url=sim.rest_url, ws_url=sim.ws_url, symbols=("BTCTRY",), out=dataset,
                       duration_s=60, stop=stop, progress=lambda s: first.set() if s.events else None)
            )  # fmt: skip

        rec = threading.Thread(target=recorder, daemon=True)
        rec.start()
        assert first.wait(15), "the recorder received nothing from the simulator"
        env = {
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "LOCK_DIR")},
            **SHARED,
            "BTCTURK_BASE_URL": sim.rest_url,
            "BTCTURK_WS_URL": sim.ws_url,
            "BTCTURK_API_KEY": sim.api_key,
            "BTCTURK_API_SECRET": sim.api_secret,
            "STATE_DB_PATH": str(live_db),
            "LIVE_TRADING": "true",
            "LIVE_TRADING_ACK": "I_UNDERSTAND",
            "DRY_RUN": "false",
            "KILL_SWITCH": "false",
            "SAFE_MODE": "false",
            "TRACE_SINK_ENABLED": "false",
        }
        live = subprocess.Popen(
            [sys.executable, "-m", "btcbot", "run", "--loop", "--max-cycles", str(CYCLES)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

        def progress() -> list[str]:
            assert live.poll() is None, live.communicate()
            return recorded_reason_codes(live_db)

        try:
            # Paced by what the live run has decided, never by guessed durations: trade first, then freeze the
            # market until the guard has called it stale for two cycles (a gap the replay's cycles cannot miss).
            wait_until(lambda: "order:submitted" in progress(), what="the live run places its order")
            _faults(sim.rest_url, freeze_market_data=True)
            wait_until(lambda: progress().count("market_data:stale") >= 2, what="two stale cycles", interval_s=0.1)
            _faults(sim.rest_url, freeze_market_data=False)
            out, err = live.communicate(timeout=60)
        finally:
            if live.poll() is None:
                live.kill()
                live.wait()
            stop.set()
            rec.join(10)
    assert live.returncode in (0, 1), err[-2000:]
    assert stats and stats[0].events > 20

    for key, value in SHARED.items():
        monkeypatch.setenv(key, value)
    result = run_replay(dataset=str(dataset), speed=None, db=tmp_path / "replay.db", seed=1, env_file=None)
    live_codes, replay_codes = _codes(live_db), _codes(result.db)
    assert "market_data:stale" in live_codes
    assert replay_codes == live_codes, (live_codes, replay_codes, out[-1500:])
    assert "order:submitted" in live_codes
    assert _report_codes(result.db, capsys) == _report_codes(live_db, capsys) == live_codes
